/**
 * The NAT demo (root): the netns NAT lab (an "internet" bridge with coturn at 203.0.113.10 and
 * 198.51.100.10, a public site and two sites behind cone NATs), a public seed and two nodes each
 * behind its own NAT. Neither NATed node can be reached unsolicited; the demo shows them punching
 * a direct path through the seed, prints node2's `meshguard status` (the peer's endpoint is the
 * other NAT's outside address) and `meshguard netcheck`, pings across, and removes everything it
 * made, also on Ctrl-C or failure. STUN goes only to the lab's coturn.
 *
 *   sudo deno task demo:nat
 *
 * TODO(relay): when the relay lands, add a pair behind two symmetric NATs (sites `sym`, `symb`)
 * and show its `connection: "relay"` path here (see `relayedPair` below).
 */

import { NatLab, natLabSkipReason, STUN_SERVERS } from "../nat_lab/helpers/nat_lab.ts";
import { NatMesh } from "../nat_lab/helpers/nat_mesh.ts";

const [SEED, A, B] = [1, 2, 3];
const TIMEOUT_MS = 60_000;

const skip = await natLabSkipReason();
if (skip) {
  console.error(skip.replace("nat lab skipped", "the NAT demo cannot run"));
  console.error("run it as root: sudo deno task demo:nat");
  Deno.exit(1);
}

const started = performance.now();
function say(line: string): void {
  const stamp = `+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(7);
  console.log(`${stamp}  ${line}`);
}

const lab = new NatLab([
  { name: "public", nat: "public" },
  { name: "cone", nat: "cone" },
  { name: "conb", nat: "cone" },
]);
const mesh = new NatMesh(lab, [
  { site: "public", host: 1 },
  { site: "cone", host: 1 },
  { site: "conb", host: 1 },
], (line) => say(line));
const daemons = mesh.mesh;

let cleaning: Promise<void> | null = null;
/** Stops every daemon and removes the lab; runs once, whatever calls it first. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    say("cleaning up: stopping the daemons, removing the NAT lab (namespaces, coturn, files)");
    await daemons.dispose();
    await lab.dispose();
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    console.log(`\n${signal}: stopping`);
    await cleanUp();
    Deno.exit(130);
  });
}

/** Hook for the relayed pair (symmetric ↔ symmetric) once the relay exists; nothing yet. */
function relayedPair(): Promise<void> {
  return Promise.resolve();
}

let failed = false;
try {
  say("building the NAT lab: internet bridge, coturn, a public site and two cone NATs");
  await lab.build();
  for (const name of ["public", "cone", "conb"]) {
    const site = lab.site(name);
    const where = site.router === null ? "no NAT" : `behind a cone NAT, seen as ${site.publicIp}`;
    say(`  site ${name}: host ${site.hosts[0].ip}, ${where}`);
  }
  await mesh.build();
  const stun = STUN_SERVERS.flatMap((server) => ["--stun", server]);
  say(`node1 (public seed) up; STUN only from the lab's coturn (${STUN_SERVERS.join(", ")})`);
  await daemons.start(SEED, { extraArgs: [...stun, "--workers", "1"] });
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
  await relayedPair();
} catch (error) {
  failed = true;
  console.error(`the NAT demo failed: ${error instanceof Error ? error.message : error}`);
  console.error(await daemons.logTails(30));
} finally {
  await cleanUp();
}
say(failed ? "done (failed)" : "done");
if (failed) Deno.exit(1);
