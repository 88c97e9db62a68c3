/**
 * The NAT demo (root): the netns NAT lab (an "internet" bridge with coturn at 203.0.113.10 and
 * 198.51.100.10, a public site, two sites behind cone NATs and two behind symmetric NATs), a
 * public seed started with `--relay` and four NATed nodes. Neither cone node can be reached
 * unsolicited; the demo shows them punching a direct path through the seed, prints node2's
 * `meshguard status` (the peer's endpoint is the other NAT's outside address) and `meshguard
 * netcheck`, and pings across. The two symmetric nodes (a mapping per destination: nothing to
 * punch at) then reach each other through the seed as relay: node4's status says `relay via
 * node1`, node1's lists the pair it relays. Everything is removed at the end, also on Ctrl-C or
 * failure. STUN goes only to the lab's coturn.
 *
 *   sudo deno task demo:nat
 */

import { NatLab, natLabSkipReason, STUN_SERVERS } from "../nat_lab/helpers/nat_lab.ts";
import { NatMesh } from "../nat_lab/helpers/nat_mesh.ts";
import { cleanUpOnce, demoClock } from "./demo_kit.ts";

const [SEED, A, B, C, D] = [1, 2, 3, 4, 5];
const TIMEOUT_MS = 60_000;

const skip = await natLabSkipReason();
if (skip) {
  console.error(skip.replace("nat lab skipped", "the NAT demo cannot run"));
  console.error("run it as root: sudo deno task demo:nat");
  Deno.exit(1);
}

const say = demoClock();

const SITES = ["public", "cone", "conb", "sym", "symb"];
const lab = new NatLab([
  { name: "public", nat: "public" },
  { name: "cone", nat: "cone" },
  { name: "conb", nat: "cone" },
  { name: "sym", nat: "symmetric" },
  { name: "symb", nat: "symmetric" },
]);
const mesh = new NatMesh(lab, SITES.map((site) => ({ site, host: 1 })), (line) => say(line));
const daemons = mesh.mesh;

/** Stops every daemon and removes the lab (once; also on Ctrl-C). */
const { cleanUp } = cleanUpOnce(async () => {
  say("cleaning up: stopping the daemons, removing the NAT lab (namespaces, coturn, files)");
  await daemons.dispose();
  await lab.dispose();
});

/** node4 and node5, each behind a symmetric NAT, through node1 as relay. */
async function relayedPair(args: string[]): Promise<void> {
  const upAt = performance.now();
  say("node4 (behind sym) and node5 (behind symb) up: symmetric NATs, nothing to punch at");
  await daemons.start(C, { seeds: [SEED], extraArgs: args });
  await daemons.start(D, { seeds: [SEED], extraArgs: args });
  await mesh.waitRelayed(C, D, TIMEOUT_MS);
  say(
    `relayed path node4 ↔ node5 through node1 after ${
      ((performance.now() - upAt) / 1000).toFixed(1)
    } s (end-to-end encrypted; the relay never has their keys)`,
  );
  await mesh.pingBothWays(C, D);
  say("pings node4 ↔ node5 over mesh IPv4 and IPv6 answered");
  console.log("\n$ meshguard status   (node4)\n" + await daemons.statusTable(C));
  // The relay's data threads report their counters once a second.
  await daemons.waitFor(
    async () => ((await daemons.status(SEED)).relay_serving?.pairs.length ?? 0) > 0,
    10_000,
    "node1 to list the pair it relays",
  );
  console.log("$ meshguard status   (node1, the relay)\n" + await daemons.statusTable(SEED));
}

let failed = false;
try {
  say(
    "building the NAT lab: internet bridge, coturn, a public site, two cone and two symmetric NATs",
  );
  await lab.build();
  for (const name of SITES) {
    const site = lab.site(name);
    const kind = site.spec.nat === "symmetric" ? "a symmetric" : "a cone";
    const where = site.router === null ? "no NAT" : `behind ${kind} NAT, seen as ${site.publicIp}`;
    say(`  site ${name}: host ${site.hosts[0].ip}, ${where}`);
  }
  await mesh.build();
  const stun = STUN_SERVERS.flatMap((server) => ["--stun", server]);
  say(
    `node1 (public seed, --relay) up; STUN only from the lab's coturn (${STUN_SERVERS.join(", ")})`,
  );
  await daemons.start(SEED, { extraArgs: [...stun, "--workers", "1", "--relay"] });
  await daemons.waitUntilServing(SEED);
  const upAt = performance.now();
  say("node2 (behind cone) and node3 (behind conb) up, seed node1");
  await daemons.start(A, { seeds: [SEED], extraArgs: [...stun, "--workers", "1"] });
  await daemons.start(B, { seeds: [SEED], extraArgs: [...stun, "--workers", "1"] });
  const [ab, ba] = await mesh.waitDirect(
    A,
    B,
    (endpoint, of) => endpoint === mesh.outside(of),
    TIMEOUT_MS,
  );
  say(
    `direct path punched after ${((performance.now() - upAt) / 1000).toFixed(1)} s: ` +
      `node2 → node3 at ${ab}, node3 → node2 at ${ba} (each the other NAT's outside address)`,
  );
  await mesh.pingBothWays(A, B);
  say("pings node2 ↔ node3 over mesh IPv4 and IPv6 answered");
  console.log("\n$ meshguard status   (node2)\n" + await daemons.statusTable(A));
  const netcheck = await daemons.cli(
    "netcheck",
    "--control",
    daemons.node(A).controlPath,
  );
  console.log("$ meshguard netcheck   (node2)\n" + netcheck.stdout + netcheck.stderr);
  await relayedPair([...stun, "--workers", "1"]);
} catch (error) {
  failed = true;
  console.error(`the NAT demo failed: ${error instanceof Error ? error.message : error}`);
  console.error(await daemons.logTails(30));
} finally {
  await cleanUp();
}
say(failed ? "done (failed)" : "done");
if (failed) Deno.exit(1);
