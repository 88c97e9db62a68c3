/**
 * Finding 3 end to end, without root: three `meshguard up --no-tun --open` daemons on
 * loopback. A newcomer whose key derives an established member's mesh IPv4 and sorts lower
 * (what used to win the address) joins the observer's mesh: the observer keeps the address with
 * the established member, across its own restart, until an administrator runs
 * `trust <key> --ipv4-owner` on it.
 */

import { join } from "node:path";
import { assertEquals, assertTrue } from "../assert.ts";
import { runMeshguard } from "../cli/cli_harness.ts";
import { collidingIdentities, writeIdentity } from "../colliding_identities.ts";
import type { DaemonStatus } from "../../lib/control/control_protocol.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { meshIpv4 } from "../../lib/identity/mesh_address.ts";
import { GossipDaemon, waitForDaemons as waitFor } from "./gossip_daemon.ts";

function alive(status: DaemonStatus | null, publicKey: string): boolean {
  return status?.peers.some((peer) => peer.public_key === publicKey && peer.state === "alive") ??
    false;
}

Deno.test("daemon: a colliding newcomer with a smaller key does not take a member's mesh IPv4", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-ipv4-" });
  const [established, attacker] = collidingIdentities();
  const address = meshIpv4(established.publicKey);
  const mKey = encodeBase64(established.publicKey);
  const xKey = encodeBase64(attacker.publicKey);
  const [o, m, x] = ["o", "m", "x"].map((name) =>
    new GossipDaemon(join(dir, name), { flags: ["--open"] })
  );
  const all = [o, m, x];
  try {
    for (const daemon of all) await Deno.mkdir(daemon.configDir, { mode: 0o700 });
    await writeIdentity(m.configDir, established);
    await writeIdentity(x.configDir, attacker);
    await o.start([]);
    await m.start([o.port]);
    await waitFor("o to see m", all, async () => alive(await o.status(), mKey));
    await x.start([o.port]);
    await waitFor("o to see x", all, async () => alive(await o.status(), xKey));

    const expectHolder = async (holder: string, reason: string) => {
      const status = (await o.status())!;
      // Where the device routes the address (the smaller key got it under the old rule).
      const ipv4Of = (key: string) => status.peers.find((p) => p.public_key === key)?.mesh_ipv4;
      assertEquals(ipv4Of(holder), address);
      assertEquals(ipv4Of(holder === mKey ? xKey : mKey), null);
      assertEquals(status.ipv4_conflicts.length, 1, JSON.stringify(status.ipv4_conflicts));
      const [conflict] = status.ipv4_conflicts;
      assertEquals(conflict.mesh_ipv4, address);
      assertEquals(conflict.holder?.public_key, holder);
      assertEquals(conflict.reason, reason);
      assertEquals(conflict.ipv6_only.map((key) => key.public_key), [
        holder === mKey ? xKey : mKey,
      ]);
    };
    await expectHolder(mKey, "first-seen");
    assertTrue(o.log.includes(`mesh IPv4 ${address} stays with peer-`), o.log);

    // A restart keeps the holder, whichever of the two the observer hears from first.
    await o.stop();
    assertTrue(
      (await Deno.readTextFile(join(o.configDir, "ipv4_holders"))).includes(`${address} ${mKey}`),
    );
    await o.start([m.port, x.port]);
    await waitFor(
      "o to see both again",
      all,
      async () => {
        const status = await o.status();
        return alive(status, mKey) && alive(status, xKey);
      },
    );
    await expectHolder(mKey, "first-seen");

    // The administrator's explicit action on this node moves it (the running daemon follows).
    const pinned = await runMeshguard(["trust", xKey, "--ipv4-owner"], { configDir: o.configDir });
    assertEquals(pinned.code, 0, pinned.stderr);
    await waitFor(
      "o to apply the pin",
      all,
      async () => (await o.status())?.ipv4_conflicts[0]?.reason === "pinned",
    );
    await expectHolder(xKey, "pinned");
  } finally {
    for (const daemon of all) await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
