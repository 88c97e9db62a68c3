/** Shared fixtures of the control tests: a sample status, temporary directories, raw exchanges. */

import type { DaemonStatus } from "../../lib/control/control_protocol.ts";
import { ControlServer } from "../../lib/control/control_server.ts";
import { writeUnlessClosed } from "../../lib/control/control_client.ts";

/** A status with three peers in different states (keys are placeholders, never parsed). */
export function sampleStatus(): DaemonStatus {
  return {
    version: "0.1.0",
    pid: 4242,
    interface: "mg0",
    port: 51821,
    public_key: "AAAAC3NzaC1lZDI1NTE5AAAAIOr1Z2Nq8xw5mV3bY7n0cVt4=",
    wireguard_public_key: "kXr3m8wq0c2n9Lk1M0bXb3u5yq2q3H6pS5w2tY7zQm4=",
    mesh_ipv4: "10.99.1.2",
    mesh_ipv6: "fd99:6d67::1:2",
    open: false,
    members: { alive: 2, suspect: 1, dead: 0 },
    max_members: null,
    refused_members: 0,
    // node3 derives node2's address; node2 was there first.
    ipv4_conflicts: [{
      mesh_ipv4: "10.99.3.4",
      holder: { name: "node2", public_key: "node2-ed25519" },
      reason: "first-seen",
      ipv6_only: [{ name: "node3", public_key: "node3-ed25519" }],
    }],
    nat: { mapped_v4: "203.0.113.7:40001", mapped_v6: null, mapping: "endpoint-independent" },
    peers: [
      {
        name: "node3",
        public_key: "node3-ed25519",
        wireguard_public_key: "node3-x25519",
        mesh_ipv4: null,
        mesh_ipv6: "fd99:6d67::3:4",
        state: "suspect",
        endpoint: "[2001:db8::3]:51821",
        last_handshake: null,
        rx_bytes: 0,
        tx_bytes: 148,
        connection: "relay",
        relay: "node2",
      },
      {
        name: "node2",
        public_key: "node2-ed25519",
        wireguard_public_key: "node2-x25519",
        mesh_ipv4: "10.99.3.4",
        mesh_ipv6: "fd99:6d67::3:5",
        state: "alive",
        endpoint: "192.0.2.2:51821",
        last_handshake: "2026-11-22T03:04:05.000Z",
        rx_bytes: 1536,
        tx_bytes: 5 * 1024 * 1024 + 300 * 1024,
        connection: "direct",
      },
      {
        name: "db-primary",
        public_key: "db-ed25519",
        wireguard_public_key: "db-x25519",
        mesh_ipv4: "10.99.7.8",
        mesh_ipv6: "fd99:6d67::7:8",
        state: "dead",
        endpoint: null,
        last_handshake: "2026-11-22T01:00:00.000Z",
        rx_bytes: 3 * 1024 * 1024 * 1024,
        tx_bytes: 1023,
        connection: "direct",
      },
    ],
  };
}

/** A fresh temporary directory (short path: sun_path holds 107 bytes), removed on dispose. */
export async function temporaryDirectory(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "mg-control-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/**
 * A root daemon's control server at `path`: answers `status` with `sampleStatus()` and anything
 * else with ok; `served` lists what it handled as `<command> from <uid>`.
 */
export async function recordingServer(
  path: string,
): Promise<{ server: ControlServer; served: string[] }> {
  const served: string[] = [];
  const server = await ControlServer.listen(path, (request, credentials) => {
    served.push(`${request.command} from ${credentials.uid}`);
    return request.command === "status" ? { ok: true, status: sampleStatus() } : { ok: true };
  }, { daemonUid: 0 });
  return { server, served };
}

/** Writes `request` as raw bytes and returns everything the server sends until it closes. */
export async function rawExchange(path: string, request: Uint8Array | string): Promise<string> {
  const connection = await Deno.connect({ transport: "unix", path });
  try {
    const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await writeUnlessClosed(connection, bytes);
    // End of our side: the server reads a request without "\n" up to here.
    await connection.closeWrite().catch(() => {});
    let text = "";
    const chunk = new Uint8Array(65536);
    for (;;) {
      let count: number | null;
      try {
        count = await connection.read(chunk);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) break;
        throw error;
      }
      if (count === null) break;
      text += new TextDecoder().decode(chunk.subarray(0, count));
    }
    return text;
  } finally {
    connection.close();
  }
}
