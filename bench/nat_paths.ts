/**
 * NAT path timings in the netns NAT lab (issue 13's numbers; root): a public seed and two nodes
 * behind different cone NATs (endpoint-independent mapping, address-and-port-dependent
 * filtering), STUN from the lab's coturn only. Per round it prints:
 *   - up → direct: from starting both NATed daemons to each listing the other alive with a
 *     handshake at the other's NAT mapping (a punched path; target ≤ 5 s);
 *   - rebinding recovery: from a conntrack flush plus a forced new outside port on one NAT to
 *     that direct path at the new mapping again, with pings answered both ways (≤ 30 s);
 *   - up → relayed: two nodes behind symmetric NATs (sites sym, symb) through the seed, which
 *     runs with --relay: from starting both to each listing the other through the relay with a
 *     handshake (≤ 5 s);
 *   - relay throughput: 8 MB over TCP through the relay against 8 MB on the punched cone ↔ cone
 *     path, as a fraction (≥ 0.5); `--megabytes N` for longer transfers (8 MB is mostly TCP
 *     slow start here, so the fraction varies widely on a loaded machine).
 * Numbers only, not a timed test.
 *
 * Run (root): deno task bench:nat [--rounds 3] [--megabytes 8] [--logs]
 */

import { NatLab, natLabSkipReason, STUN_SERVERS } from "../tests/nat_lab/helpers/nat_lab.ts";
import { NatKnobs } from "../tests/nat_lab/helpers/nat_knobs.ts";
import { NatMesh } from "../tests/nat_lab/helpers/nat_mesh.ts";

const at = Deno.args.indexOf("--rounds");
const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 3;
const showLogs = Deno.args.includes("--logs");
const mbAt = Deno.args.indexOf("--megabytes");
const megabytes = mbAt >= 0 ? Number(Deno.args[mbAt + 1]) : 8;
if (!Number.isInteger(megabytes) || megabytes < 1) {
  console.error(`--megabytes wants a whole number of MB ≥ 1, not ${Deno.args[mbAt + 1]}`);
  Deno.exit(2);
}
const [SEED, A, B, C, D] = [1, 2, 3, 4, 5];

const skip = await natLabSkipReason();
if (skip) {
  console.error(skip);
  Deno.exit(1);
}

const lab = new NatLab([
  { name: "public", nat: "public" },
  { name: "cone", nat: "cone" },
  { name: "conb", nat: "cone" },
  { name: "sym", nat: "symmetric" },
  { name: "symb", nat: "symmetric" },
]);
const knobs = new NatKnobs(lab);
const mesh = new NatMesh(lab, [
  { site: "public", host: 1 },
  { site: "cone", host: 1 },
  { site: "conb", host: 1 },
  { site: "sym", host: 1 },
  { site: "symb", host: 1 },
]);
const daemons = mesh.mesh;
const args = [...STUN_SERVERS.flatMap((server) => ["--stun", server]), "--workers", "1"];
const upTimes: number[] = [];
const rebindTimes: number[] = [];
const relayTimes: number[] = [];
const relayShares: number[] = [];

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
  await daemons.start(SEED, { extraArgs: [...args, "--relay"] });
  await daemons.waitUntilServing(SEED);
  for (let round = 1; round <= rounds; round++) {
    await knobs.resetNat("cone");
    for (const site of ["conb", "sym", "symb"]) await knobs.flushMappings(site);
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

    const relayStarted = performance.now();
    await daemons.start(C, { seeds: [SEED], extraArgs: args });
    await daemons.start(D, { seeds: [SEED], extraArgs: args });
    await mesh.waitRelayed(C, D, 60_000);
    const relayed = (performance.now() - relayStarted) / 1000;
    relayTimes.push(relayed);
    const direct = await mesh.transfer(A, B, megabytes << 20);
    const viaRelay = await mesh.transfer(C, D, megabytes << 20);
    relayShares.push(direct.seconds / viaRelay.seconds);
    console.log(
      `round ${round}: up → relayed (sym ↔ sym via the seed) ${
        relayed.toFixed(2)
      } s; ${megabytes} MB ` +
        `direct ${direct.seconds.toFixed(2)} s, relayed ${viaRelay.seconds.toFixed(2)} s`,
    );
    if (showLogs) console.log(await daemons.logTails(80));
    for (const k of [A, B, C, D]) await daemons.stop(k);
  }
  console.log(`up → direct, cone ↔ cone: ${summary(upTimes)} (target ≤ 5 s)`);
  console.log(`rebinding → direct again: ${summary(rebindTimes)} (target ≤ 30 s)`);
  console.log(`up → relayed, sym ↔ sym: ${summary(relayTimes)} (target ≤ 5 s)`);
  const shares = [...relayShares].sort((x, y) => x - y);
  console.log(
    `relay throughput / direct: median ${shares[Math.floor(shares.length / 2)].toFixed(2)} ` +
      `(min ${shares[0].toFixed(2)}, max ${shares.at(-1)!.toFixed(2)}) (target ≥ 0.5)`,
  );
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
