/**
 * The daemon without root: two `meshguard up --no-tun` processes on loopback find each other
 * from one seed, report each other in `status --json`, react to a live `revoke` and `trust`, and
 * stop on `down`. (The full mesh with TUN and WireGuard is the root-only `mesh` suite.)
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { runMeshguard } from "../cli/cli_harness.ts";
import { GossipDaemon, peerState, waitForDaemons as waitFor } from "./gossip_daemon.ts";

/** Runs one CLI command with the permissions the README documents for it. */
function cli(args: string[]) {
  return runMeshguard(args, { configDir: null });
}

Deno.test("gossip-only daemons: join from a seed, live revoke and trust, down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-gossip-" });
  const nodes = [`${dir}/a`, `${dir}/b`].map((configDir) =>
    new GossipDaemon(configDir, { flags: ["--log-level", "debug"] })
  );
  try {
    const keys: string[] = [];
    for (const node of nodes) {
      const made = await cli(["keygen", "--config", node.configDir]);
      assertEquals(made.code, 0, made.stderr);
      keys.push(made.stdout.trim());
    }
    const [a, b] = nodes;
    const [aKey, bKey] = keys;
    for (const [node, otherKey, name] of [[a, bKey, "b"], [b, aKey, "a"]] as const) {
      const trusted = await cli([
        "trust",
        otherKey,
        "--name",
        name,
        "--config",
        node.configDir,
      ]);
      assertEquals(trusted.code, 0, trusted.stderr);
    }
    await a.start([]);
    // b's last run took an epoch far ahead of this clock (the clock was stepped back since):
    // its next epoch must still be higher, or the others would prefer its old records.
    const ahead = Date.now() + 10 * 86_400_000;
    await Deno.writeTextFile(`${b.configDir}/boot.epoch`, `${ahead}\n`, { mode: 0o600 });
    await b.start([a.port]);
    const joined = await waitFor(
      "both to see each other alive",
      nodes,
      async () =>
        peerState(await a.status(), bKey) === "alive" &&
        peerState(await b.status(), aKey) === "alive",
    );
    console.log(`  joined in ${Math.round(joined)} ms`);
    assertEquals(await Deno.readTextFile(`${b.configDir}/boot.epoch`), `${ahead + 1}\n`);
    const status = (await a.status())!;
    assertEquals(status.public_key, aKey);
    assertTrue(status.port > 0);
    assertEquals(status.members.alive, 1);
    assertEquals(status.peers[0].name, "b");

    // Revoke on a running daemon: b disappears from a's members at once.
    const revoked = await cli(["revoke", "b", "--config", a.configDir]);
    assertEquals(revoked.code, 0, revoked.stderr);
    await waitFor(
      "a to drop b",
      nodes,
      async () => peerState(await a.status(), bKey) === null,
    );
    // …and stays out while it still tries (b keeps probing and rejoining a).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assertEquals(peerState(await a.status(), bKey), null);

    const again = await cli(["trust", bKey, "--name", "b", "--config", a.configDir]);
    assertEquals(again.code, 0, again.stderr);
    await waitFor(
      "b to come back on a",
      nodes,
      async () =>
        peerState(await a.status(), bKey) === "alive" &&
        peerState(await b.status(), aKey) === "alive",
    );

    // down: the daemon answers, leaves (b sees "left", not "dead") and exits 0.
    const down = await cli(["down", "--control", b.controlPath]);
    assertEquals(down.code, 0, down.stderr);
    const exit = await b.exited();
    assertEquals(exit.code, 0, b.log);
    await waitFor(
      "a to see b leave",
      nodes,
      async () => peerState(await a.status(), bKey) === "left",
    );
    assertTrue(b.log.includes("'meshguard down' requested"), b.log);
    await assertGone(b.controlPath);
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertGone(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  throw new Error(`${path} is still there`);
}
