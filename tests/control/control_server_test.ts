import { join } from "node:path";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "../assert.ts";
import {
  type ControlHandler,
  ControlServer,
  ControlSocketError,
  type PeerCredentials,
} from "../../lib/control/control_server.ts";
import {
  ControlTimeoutError,
  DaemonNotRunningError,
  sendControlRequest,
} from "../../lib/control/control_client.ts";
import type { ControlRequest } from "../../lib/control/control_protocol.ts";
import { UnixStreamListener } from "../../ffi/unix_socket.ts";
import { rawExchange, sampleStatus, temporaryDirectory } from "./fixtures.ts";

const DAEMON_UID = Deno.uid()!;

/** A handler that answers status with the sample and records what it was asked. */
function recordingHandler(): {
  handler: ControlHandler;
  seen: [ControlRequest, PeerCredentials][];
} {
  const seen: [ControlRequest, PeerCredentials][] = [];
  const handler: ControlHandler = (request, credentials) => {
    seen.push([request, credentials]);
    if (request.command === "status") return { ok: true, status: sampleStatus() };
    if (request.command === "reload") {
      throw new Error("reload failed: authorized_keys is unreadable");
    }
    return { ok: true };
  };
  return { handler, seen };
}

Deno.test("control server: status round trip, credentials, modes, cleanup", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "run", "mg0.sock");
  const { handler, seen } = recordingHandler();
  const server = await ControlServer.listen(path, handler, { daemonUid: DAEMON_UID });
  try {
    assertEquals((await Deno.lstat(path)).isSocket, true);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o666);
    assertEquals((await Deno.stat(join(dir.path, "run"))).mode! & 0o777, 0o755);
    assertEquals(await sendControlRequest(path, { command: "status" }), {
      ok: true,
      status: sampleStatus(),
    });
    assertEquals(await sendControlRequest(path, { command: "down" }), { ok: true });
    assertEquals(seen.length, 2);
    const [, credentials] = seen[0];
    assertEquals(credentials, { pid: Deno.pid, uid: DAEMON_UID, gid: Deno.gid()! });
  } finally {
    await server.close();
  }
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
  await assertRejects(
    () => sendControlRequest(path, { command: "status" }),
    DaemonNotRunningError,
    new RegExp(`^meshguard is not running \\(no control socket at ${path}\\)$`),
  );
});

Deno.test("control server: a handler error becomes ok:false and the server keeps serving", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const { handler } = recordingHandler();
  const server = await ControlServer.listen(path, handler, { daemonUid: DAEMON_UID });
  try {
    assertEquals(await sendControlRequest(path, { command: "reload" }), {
      ok: false,
      error: "reload failed: authorized_keys is unreadable",
    });
    assertEquals((await sendControlRequest(path, { command: "status" })).ok, true);
  } finally {
    await server.close();
  }
});

Deno.test("control server: malformed requests get a clear error and the server keeps serving", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const { handler, seen } = recordingHandler();
  const server = await ControlServer.listen(path, handler, { daemonUid: DAEMON_UID });
  try {
    const answer = async (request: string | Uint8Array) =>
      JSON.parse(await rawExchange(path, request));
    assertIncludes((await answer("status\n")).error, "malformed request");
    assertIncludes((await answer("[1,2]\n")).error, "expected a JSON object, got an array");
    assertIncludes((await answer('{"command":"explode"}\n')).error, 'unknown command "explode"');
    assertEquals((await answer("\n")).ok, false);
    // Over 64 KiB without a newline: refused without waiting for the rest.
    const huge = await answer(new Uint8Array(70 * 1024).fill(0x20));
    assertEquals(huge.ok, false);
    assertIncludes(huge.error, "request too large");
    // Invalid UTF-8 is just malformed.
    assertEquals((await answer(new Uint8Array([0xff, 0xfe, 0x0a]))).ok, false);
    // Only the first line counts; a request ended by end of file still counts.
    assertEquals((await answer('{"command":"status"}\n{"command":"down"}\n')).ok, true);
    assertEquals((await answer('{"command":"status"}')).ok, true);
    // A client that connects and hangs up gets nothing and harms nothing.
    assertEquals(await rawExchange(path, ""), "");
    assertEquals(seen.map(([request]) => request.command), ["status", "status"]);
    assertEquals(await sendControlRequest(path, { command: "status" }), {
      ok: true,
      status: sampleStatus(),
    });
  } finally {
    await server.close();
  }
});

Deno.test("control server: a silent client is dropped after the request timeout; over-limit clients are told busy at once", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const { handler } = recordingHandler();
  const server = await ControlServer.listen(path, handler, {
    daemonUid: DAEMON_UID,
    requestTimeoutMs: 300,
    privilegedConnections: 2,
  });
  const silent: Deno.UnixConn[] = [];
  try {
    // Two silent clients fill both slots; a third is not queued behind them but refused now
    // (queued, it would have been served once they timed out).
    const connectedAt = performance.now();
    for (let i = 0; i < 2; i++) silent.push(await Deno.connect({ transport: "unix", path }));
    const busy = await sendControlRequest(path, { command: "status" }, 5000);
    assertEquals(busy.ok, false);
    assertIncludes((busy as { error: string }).error, "busy: 2 control connections");
    // The silent clients are disconnected without an answer once their 300 ms are up.
    for (const connection of silent) assertEquals(await connection.read(new Uint8Array(16)), null);
    const waited = performance.now() - connectedAt;
    assertTrue(waited >= 250 && waited < 3000, `dropped after ${waited} ms`);
    assertEquals((await sendControlRequest(path, { command: "status" }, 5000)).ok, true);
  } finally {
    for (const connection of silent) connection.close();
    await server.close();
  }
});

Deno.test("control client: a daemon that never answers is a timeout", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  // A listener that accepts but never reads or writes (Deno's own, not the control server).
  const listener = Deno.listen({ transport: "unix", path });
  const accepted = listener.accept();
  try {
    const started = performance.now();
    await assertRejects(
      () => sendControlRequest(path, { command: "status" }, 200),
      ControlTimeoutError,
      /did not answer within 0\.2 s/,
    );
    assertTrue(performance.now() - started < 2000);
  } finally {
    (await accepted).close();
    listener.close();
  }
});

Deno.test("control server: a stale socket file is replaced", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  // A socket file nobody listens on, as a crashed daemon leaves it.
  await UnixStreamListener.listen(path).close();
  assertEquals((await Deno.lstat(path)).isSocket, true);
  await assertRejects(
    () => sendControlRequest(path, { command: "status" }),
    DaemonNotRunningError,
  );
  const { handler } = recordingHandler();
  const server = await ControlServer.listen(path, handler, { daemonUid: DAEMON_UID });
  try {
    assertEquals((await sendControlRequest(path, { command: "status" })).ok, true);
  } finally {
    await server.close();
  }
});

Deno.test("control server: a file that is not a socket is never removed", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  await Deno.writeTextFile(path, "precious");
  await assertRejects(
    () => ControlServer.listen(path, recordingHandler().handler, { daemonUid: DAEMON_UID }),
    ControlSocketError,
    /exists and is not a socket/,
  );
  assertEquals(await Deno.readTextFile(path), "precious");
  await Deno.remove(path);
  await Deno.mkdir(path);
  await assertRejects(
    () => ControlServer.listen(path, recordingHandler().handler, { daemonUid: DAEMON_UID }),
    ControlSocketError,
    /not a socket/,
  );
  assertEquals((await Deno.stat(path)).isDirectory, true);
});

Deno.test("control server: a second server on a live path is refused", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const first = await ControlServer.listen(path, recordingHandler().handler, {
    daemonUid: DAEMON_UID,
  });
  try {
    await assertRejects(
      () => ControlServer.listen(path, recordingHandler().handler, { daemonUid: DAEMON_UID }),
      ControlSocketError,
      new RegExp(`^another meshguard daemon is running \\(control socket ${path}\\)$`),
    );
    // The refused attempt left the first server's socket in place and working.
    assertEquals((await sendControlRequest(path, { command: "status" })).ok, true);
  } finally {
    await first.close();
  }
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("control server: close() does not remove a socket that is no longer its own", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const server = await ControlServer.listen(path, recordingHandler().handler, {
    daemonUid: DAEMON_UID,
  });
  // Someone removed our file and put another in its place.
  await Deno.remove(path);
  await Deno.writeTextFile(path, "not ours");
  await server.close();
  assertEquals(await Deno.readTextFile(path), "not ours");
});

Deno.test("control server: close() ends a client that is still writing its request", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const server = await ControlServer.listen(path, recordingHandler().handler, {
    daemonUid: DAEMON_UID,
  });
  const client = await Deno.connect({ transport: "unix", path });
  try {
    await client.write(new TextEncoder().encode('{"command":'));
    const started = performance.now();
    // Make sure the server is waiting on this client before closing.
    assertEquals((await sendControlRequest(path, { command: "status" })).ok, true);
    await server.close();
    assertTrue(performance.now() - started < 2000, "close() waited for the client's timeout");
    assertEquals(await client.read(new Uint8Array(16)), null);
  } finally {
    client.close();
  }
});
