/**
 * The mesh demo (root): three meshguard nodes on this machine, each in its own network namespace
 * on a private bridge (192.0.2.1–3). Each node gets an identity (`meshguard keygen`); node1 and
 * node2 trust each other by key (`meshguard trust`), node3 trusts both, and node3 is admitted by
 * the other two through an org certificate (`org-keygen`, `org-sign`, `trust --org`) instead of
 * its key. `meshguard up` runs in every namespace with node1 as the only seed. The demo shows the
 * mesh forming, pings across it over IPv4 and IPv6, pings node2 and node3 by name (`ping
 * node2.mesh`, `ping node3.<org>.mesh`, node1's system resolver pointed at its mesh resolver),
 * prints `meshguard status` from node1, and removes everything it made — also on Ctrl-C or
 * failure.
 *
 *   sudo deno run --allow-run --allow-read --allow-write --allow-sys=uid tests/demo/mesh_demo.ts
 */

import { join } from "node:path";
import { MESH_PORT, MeshLab, meshSkipReason } from "../mesh/helpers/mesh_lab.ts";
import type { DaemonStatus } from "../mesh/helpers/daemon_status.ts";
import { cleanUpOnce, demoClock } from "./demo_kit.ts";

const NODES = [1, 2, 3];
const FORMATION_TIMEOUT_MS = 60_000;

const skip = await meshSkipReason();
if (skip) {
  console.error(`${skip.replace("mesh suite skipped: ", "the mesh demo ")}`);
  console.error("run it as root: sudo deno task demo");
  Deno.exit(1);
}

const say = demoClock();

const lab = new MeshLab({
  nodes: NODES.length,
  // Nobody lists node3's key: node1 and node2 admit it by its org certificate.
  trusts: (_from, to) => to !== 3,
  progress: (line) => say(line),
});

/** node1's resolv.conf folder: `ip netns exec` mounts its resolv.conf over /etc/resolv.conf. */
let resolvFolder: string | null = null;

/** Stops every daemon and removes namespaces and files (once; also on Ctrl-C). */
const { cleanUp, cleaning } = cleanUpOnce(async () => {
  say("cleaning up: stopping the daemons, removing namespaces, config dirs and sockets");
  if (resolvFolder !== null) await Deno.remove(resolvFolder, { recursive: true }).catch(() => {});
  await lab.dispose();
});

/** Prints what is new in the mesh (members seen alive, first handshakes) since the last look. */
function reportChanges(statuses: Map<number, DaemonStatus>, seen: Set<string>): void {
  for (const [k, status] of statuses) {
    for (const peer of status.peers) {
      const alive = `node${k} sees ${peer.name} ${peer.state}`;
      if (peer.state === "alive" && !seen.has(alive)) {
        seen.add(alive);
        say(`${alive} (endpoint ${peer.endpoint ?? "-"})`);
      }
      if (peer.last_handshake === null) continue;
      const pair = [`node${k}`, peer.name].sort().join(" ↔ ");
      if (!seen.has(pair)) {
        seen.add(pair);
        say(`WireGuard tunnel ${pair} up (first handshake)`);
      }
    }
  }
}

/** True when every node lists every other as alive. */
function formed(statuses: Map<number, DaemonStatus>): boolean {
  return NODES.every((k) => {
    const status = statuses.get(k);
    const alive = status?.peers.filter((peer) => peer.state === "alive").length ?? 0;
    return alive === NODES.length - 1;
  });
}

try {
  console.log("meshguard mesh demo: three nodes in network namespaces on this machine\n");
  await lab.build();

  // The org: its key, a certificate for node3, and node1 and node2 trusting the org.
  const admin = join(lab.directory, "org-admin");
  const orgKey = (await lab.meshguard(admin, "org-keygen")).trim();
  const node3 = lab.node(3).configDir;
  await lab.meshguard(
    admin,
    "org-sign",
    join(node3, "identity.pub"),
    "--name",
    "node3",
    "--out",
    join(node3, "node.cert"),
  );
  for (const k of [1, 2]) await lab.meshguard(lab.node(k).configDir, "trust", "--org", orgKey);
  const shown = JSON.parse(
    await lab.meshguard(lab.node(1).configDir, "cert", "show", join(node3, "node.cert"), "--json"),
  );
  const node3Name: string = shown.fqdn;
  say(`org: meshguard org-keygen; org-sign node3 → node.cert (${node3Name})`);
  say("org: node1 and node2 trust the org key (trust --org), not node3's key");

  console.log();
  await lab.start(1);
  const seed = await lab.waitUntilServing(1);
  say(
    `node1 up: meshguard up --interface ${seed.interface} (mesh ${seed.mesh_ipv4}, ${seed.mesh_ipv6})` +
      " — the seed, started with no seed of its own",
  );
  for (const k of NODES.slice(1)) {
    await lab.start(k, { seeds: [1] });
    const status = await lab.waitUntilServing(k);
    say(
      `node${k} up: meshguard up --seed ${lab.node(1).underlay}:${MESH_PORT} ` +
        `(mesh ${status.mesh_ipv4}, ${status.mesh_ipv6})`,
    );
  }

  console.log();
  say("watching the mesh form (meshguard status --json on every node)");
  const seen = new Set<string>();
  const formingSince = performance.now();
  await lab.waitFor(
    async () => {
      const statuses = new Map<number, DaemonStatus>();
      for (const k of NODES) statuses.set(k, await lab.status(k));
      reportChanges(statuses, seen);
      return formed(statuses);
    },
    FORMATION_TIMEOUT_MS,
    "every node to see the two others alive",
  );
  say(
    `full mesh: every node sees the two others alive after ${
      ((performance.now() - formingSince) / 1000).toFixed(1)
    } s`,
  );

  console.log();
  say("pinging across the mesh (from inside each namespace)");
  for (const from of NODES) {
    for (const to of NODES) {
      if (from === to) continue;
      for (const address of [lab.node(to).meshIpv4, lab.node(to).meshIpv6]) {
        await lab.waitForPing(from, address, 15_000);
        const reply = await lab.pingOnce(from, address);
        const time = reply.stdout.match(/time=([\d.]+ ms)/)?.[1] ?? "answered";
        say(`node${from} → node${to} ${address}: ${time}`);
      }
    }
  }

  console.log();
  resolvFolder = `/etc/netns/${lab.node(1).namespace}`;
  await Deno.mkdir(resolvFolder, { recursive: true });
  await Deno.writeTextFile(
    `${resolvFolder}/resolv.conf`,
    `nameserver ${lab.node(1).meshIpv4}\n`,
  );
  say(`node1's resolver: nameserver ${lab.node(1).meshIpv4} (its own mesh DNS)`);
  for (const name of ["node2.mesh", node3Name]) {
    await lab.waitFor(
      async () => (await lab.pingOnce(1, name)).code === 0,
      15_000,
      `ping ${name} from node1`,
    );
    const byName = await lab.pingOnce(1, name);
    const target = byName.stdout.match(/^PING \S+ \(([^)]+)\)/m)?.[1] ??
      byName.stdout.match(/\((\S+)\)\)/)?.[1] ?? "?";
    const time = byName.stdout.match(/time=([\d.]+ ms)/)?.[1] ?? "answered";
    say(`node1 $ ping ${name} → ${target}: ${time}`);
  }

  console.log(`\n$ meshguard status   (on node1)\n`);
  console.log((await lab.statusTable(1)).trimEnd());
  console.log();
} catch (error) {
  // After Ctrl-C the interrupted step fails too; the signal handler has that in hand.
  if (!cleaning()) {
    console.error(`\nthe demo failed: ${error instanceof Error ? error.message : error}`);
    console.error(`\ndaemon logs:\n${await lab.logTails(30)}`);
  }
  await cleanUp();
  Deno.exit(1);
}
await cleanUp();
say("demo finished; every namespace, daemon and temporary file is gone");
