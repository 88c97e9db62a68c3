/**
 * NAT path timings in the netns NAT lab (issue 13's numbers; root): a public seed and two nodes
 * behind different cone NATs (endpoint-independent mapping, address-and-port-dependent
 * filtering), STUN from the lab's coturn only. Per round it prints:
 *   - up → direct: from starting both NATed daemons to each listing the other alive with a
 *     handshake at the other's NAT mapping (a punched path; target ≤ 5 s);
 *   - rebinding recovery: from a conntrack flush plus a forced new outside port on one NAT to
 *     that direct path at the new mapping again, with pings answered both ways (≤ 30 s).
 * Numbers only, not a timed test. TODO(relay): up → relayed path for symmetric ↔ symmetric and
 * relay throughput as a fraction of direct, once the relay lands.
 *
 * Run (root): deno task bench:nat [--rounds 3] [--logs]
 */

import { NatLab, natLabSkipReason, STUN_SERVERS } from "../tests/nat_lab/helpers/nat_lab.ts";
import { NatKnobs } from "../tests/nat_lab/helpers/nat_knobs.ts";
import { NatMesh } from "../tests/nat_lab/helpers/nat_mesh.ts";

const at = Deno.args.indexOf("--rounds");
const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 3;
const showLogs = Deno.args.includes("--logs");
const [SEED, A, B] = [1, 2, 3];

const skip = await natLabSkipReason();
if (skip) {
  console.error(skip);
  Deno.exit(1);
}

const lab = new NatLab([
  { name: "public", nat: "public" },
  { name: "cone", nat: "cone" },
  { name: "conb", nat: "cone" },
]);
const knobs = new NatKnobs(lab);
const mesh = new NatMesh(lab, [
  { site: "public", host: 1 },
  { site: "cone", host: 1 },
  { site: "conb", host: 1 },
]);
const daemons = mesh.mesh;
const args = [...STUN_SERVERS.flatMap((server) => ["--stun", server]), "--workers", "1"];
const upTimes: number[] = [];
const rebindTimes: number[] = [];

function port(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
}

function summary(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(2)} s (min ${sorted[0].toFixed(2)}, max ${
    sorted.at(-1)!.toFixed(2)
  }, n=${sorted.length})`;
}

try {
  await lab.build();
  await mesh.build();
  await daemons.start(SEED, { extraArgs: args });
  await daemons.waitUntilServing(SEED);
  for (let round = 1; round <= rounds; round++) {
    await knobs.resetNat("cone");
    await knobs.flushMappings("conb");
    const started = performance.now();
    await daemons.start(A, { seeds: [SEED], extraArgs: args });
    await daemons.start(B, { seeds: [SEED], extraArgs: args });
    await mesh.waitDirect(
      A,
      B,
      (endpoint, of) => endpoint === mesh.outside(of),
      60_000,
    );
    const up = (performance.now() - started) / 1000;
    upTimes.push(up);

    const rebindStarted = performance.now();
    await knobs.forcePortChange("cone");
    const [, seen] = await mesh.waitDirect(
      A,
      B,
      (endpoint, of) =>
        of === B
          ? endpoint === mesh.outside(B)
          : port(endpoint) >= 40_000 && port(endpoint) <= 40_999,
      60_000,
    );
    await daemons.waitForPing(A, daemons.node(B).meshIpv4, 30_000);
    await daemons.waitForPing(B, daemons.node(A).meshIpv4, 30_000);
    const rebind = (performance.now() - rebindStarted) / 1000;
    rebindTimes.push(rebind);
    console.log(
      `round ${round}: up → direct (cone ↔ cone, punched) ${up.toFixed(2)} s; ` +
        `rebinding → direct at ${seen} ${rebind.toFixed(2)} s`,
    );
    if (showLogs) console.log(await daemons.logTails(80));
    await daemons.stop(A);
    await daemons.stop(B);
  }
  console.log(`up → direct, cone ↔ cone: ${summary(upTimes)} (target ≤ 5 s)`);
  console.log(`rebinding → direct again: ${summary(rebindTimes)} (target ≤ 30 s)`);
} catch (error) {
  const kept = await Deno.makeTempDir({ prefix: "meshguard-bench-nat-logs-" });
  for (const node of daemons.nodes) {
    await Deno.copyFile(node.logPath, `${kept}/${node.name}.log`).catch(() => {});
  }
  console.error(`whole daemon logs kept in ${kept}`);
  throw error;
} finally {
  await daemons.dispose();
  await lab.dispose();
}
