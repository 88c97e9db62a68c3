/**
 * StrictModes end to end: `trust`, `config show` and `up` refuse a trust store another user
 * could write, naming the fix; a running daemon whose store becomes unsafe refuses the reload,
 * logs why and keeps the trust it had (neither falling open nor dropping members), and takes
 * the change once the store is fixed.
 */

import { join } from "node:path";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { DOCUMENTED_PERMISSIONS, runMeshguard } from "./cli_harness.ts";
import {
  GossipDaemon,
  peerState as stateOf,
  waitForDaemons as waitFor,
} from "../daemon/gossip_daemon.ts";

async function keygen(configDir: string): Promise<string> {
  const made = await runMeshguard(["keygen"], { configDir });
  assertEquals(made.code, 0, made.stderr);
  return made.stdout.trim();
}

Deno.test("cli: trust, config show and up refuse a group- or world-writable trust store", async () => {
  const root = await Deno.makeTempDir({ prefix: "meshguard-strict-" });
  try {
    const configDir = join(root, "node");
    const peerKey = await keygen(join(root, "peer"));
    await keygen(configDir);
    const folder = join(configDir, "authorized_keys");
    const trusted = await runMeshguard(["trust", peerKey, "--name", "peer"], { configDir });
    assertEquals(trusted.code, 0, trusted.stderr);

    await Deno.chmod(folder, 0o777);
    const fix = `fix it with: chmod go-w ${folder}`;
    const again = await runMeshguard(["trust", await keygen(join(root, "other"))], {
      configDir,
    });
    assertEquals(again.code, 1);
    assertIncludes(again.stderr, `error: refusing to use ${folder}: it is writable by group`);
    assertIncludes(again.stderr, fix);
    const shown = await runMeshguard(["config", "show"], { configDir });
    assertEquals(shown.code, 1);
    assertIncludes(shown.stderr, fix);
    const up = await runMeshguard(
      ["up", "--no-tun", "--port", "0", "--control", `${configDir}.sock`],
      { configDir },
    );
    assertTrue(up.code !== 0, "up started on an unsafe trust store");
    assertIncludes(up.stderr, fix);

    await Deno.chmod(folder, 0o755);
    const key = join(folder, "peer.pub");
    await Deno.chmod(key, 0o666);
    const keyShown = await runMeshguard(["config", "show"], { configDir });
    assertEquals(keyShown.code, 1);
    assertIncludes(keyShown.stderr, `fix it with: chmod go-w ${key}`);
    await Deno.chmod(key, 0o644);
    const fine = await runMeshguard(["config", "show"], { configDir });
    assertEquals(fine.code, 0, fine.stderr);
    assertIncludes(fine.stdout, "peer");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("up: a reload from an unsafe trust store is refused and logged; the trust loaded before stays", async () => {
  const root = await Deno.makeTempDir({ prefix: "meshguard-strict-" });
  const daemons: GossipDaemon[] = [];
  try {
    const [dirA, dirB] = [join(root, "a"), join(root, "b")];
    const [keyA, keyB] = [await keygen(dirA), await keygen(dirB)];
    for (const [dir, key, name] of [[dirA, keyB, "b"], [dirB, keyA, "a"]]) {
      const trusted = await runMeshguard(["trust", key, "--name", name], { configDir: dir });
      assertEquals(trusted.code, 0, trusted.stderr);
    }
    const [a, b] = [dirA, dirB].map((dir) =>
      new GossipDaemon(dir, { permissions: DOCUMENTED_PERMISSIONS.up })
    );
    daemons.push(a, b);
    await a.start([]);
    await b.start([a.port]);
    await waitFor(
      "a and b to see each other",
      daemons,
      async () =>
        stateOf(await a.status(), keyB) === "alive" && stateOf(await b.status(), keyA) === "alive",
    );

    // Another user could now plant keys: a refuses the reload this removal triggers.
    const folder = join(dirA, "authorized_keys");
    await Deno.chmod(folder, 0o777);
    await Deno.remove(join(folder, "b.pub"));
    await waitFor(
      "a to refuse the reload",
      daemons,
      () => Promise.resolve(a.log.includes("trust not reloaded")),
    );
    assertIncludes(
      a.log,
      `trust not reloaded, keeping the trust loaded before: refusing to use ${folder}`,
    );
    assertIncludes(a.log, `chmod go-w ${folder}`);
    // Still trusted and alive: the daemon neither crashed nor dropped its last good trust.
    assertEquals(stateOf(await a.status(), keyB), "alive");

    // Fixed: the next change is taken, and b (no longer in the store) is dropped.
    await Deno.chmod(folder, 0o700);
    await Deno.writeTextFile(join(folder, "notes.txt"), "a change to reload on\n");
    await waitFor("a to drop b", daemons, async () => stateOf(await a.status(), keyB) === null);
  } finally {
    for (const daemon of daemons) await daemon.stop();
    await Deno.remove(root, { recursive: true });
  }
});
