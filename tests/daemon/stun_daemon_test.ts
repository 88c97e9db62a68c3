/**
 * STUN end to end without root: a `meshguard up --no-tun` daemon answers Binding requests on its
 * mesh port, and a second one started with `--stun 127.0.0.1:<first's port>` learns its own
 * mesh port from it; `meshguard netcheck --json` shows that (loopback only).
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { runMeshguard } from "../cli/cli_harness.ts";
import { GossipDaemon } from "./gossip_daemon.ts";
import type { NetcheckReport } from "../../lib/control/control_protocol.ts";

Deno.test("stun daemons: --stun points at a member's mesh port; netcheck --json reports the mapping", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-stun-" });
  const server = new GossipDaemon(`${dir}/server`);
  let client: GossipDaemon | null = null;
  try {
    await server.start([]);
    client = new GossipDaemon(`${dir}/client`, {
      flags: ["--stun", `127.0.0.1:${server.port}`],
    });
    await client.start([]);
    const result = await runMeshguard(
      ["netcheck", "--json", "--control", client.controlPath],
      { configDir: null },
    );
    assertEquals(result.code, 0, `${result.stderr}\n${client.log}`);
    const report = JSON.parse(result.stdout) as NetcheckReport;
    assertEquals(report.stun, "servers");
    assertEquals(report.port, client.port);
    assertEquals(report.servers.length, 1);
    assertEquals(report.servers[0].server, `127.0.0.1:${server.port}`);
    assertEquals(report.servers[0].mapped, `127.0.0.1:${client.port}`, client.log);
    assertTrue(report.servers[0].rtt_ms !== null && report.servers[0].rtt_ms < 1_000);
    assertEquals(report.mapped_v4, `127.0.0.1:${client.port}`);
    // One server cannot tell how the mapping behaves.
    assertTrue(["unknown", "public"].includes(report.mapping), report.mapping);
    const status = await client.status();
    assertEquals(status?.nat.mapped_v4, `127.0.0.1:${client.port}`);
    const table = await runMeshguard(["netcheck", "--control", client.controlPath], {
      configDir: null,
    });
    assertEquals(table.code, 0, table.stderr);
    assertTrue(table.stdout.includes(`127.0.0.1:${server.port}`), table.stdout);
  } finally {
    await client?.stop();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
