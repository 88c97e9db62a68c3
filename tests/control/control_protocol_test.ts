import { assertEquals, assertIncludes, assertThrows, assertTrue } from "../assert.ts";
import {
  checkDaemonStatus,
  ControlError,
  MAX_REQUEST_BYTES,
  parseControlResponse,
  validateControlRequest,
} from "../../lib/control/control_protocol.ts";
import { authorizeControlCommand } from "../../lib/control/control_server.ts";
import {
  CONTROL_SOCKET_DIR,
  defaultControlPath,
  isValidInterfaceName,
} from "../../lib/control/control_path.ts";
import { sampleStatus } from "./fixtures.ts";

function rejection(text: string): string {
  const result = validateControlRequest(text);
  assertTrue(!result.ok, `expected ${JSON.stringify(text.slice(0, 80))} to be refused`);
  return (result as { error: string }).error;
}

Deno.test("control request: the three commands are accepted", () => {
  for (const command of ["status", "down", "reload"] as const) {
    assertEquals(validateControlRequest(JSON.stringify({ command })), {
      ok: true,
      request: { command },
    });
  }
  // Surrounding whitespace is JSON's business, not an error.
  assertEquals(validateControlRequest(' {"command":"status"}\r').ok, true);
});

Deno.test("control request: malformed ones get an error that says what is wrong", () => {
  assertIncludes(rejection("status"), "expected one JSON object");
  assertIncludes(rejection(""), "expected one JSON object");
  assertIncludes(rejection('"status"'), "got a string");
  assertIncludes(rejection("[]"), "got an array");
  assertIncludes(rejection("null"), "got null");
  assertIncludes(rejection("42"), "got a number");
  assertIncludes(rejection("{}"), 'no "command" field');
  assertIncludes(rejection('{"command":7}'), '"command" must be a string');
  assertIncludes(rejection('{"command":"status","verbose":true}'), 'unexpected field "verbose"');
  const unknown = rejection('{"command":"shutdown"}');
  assertIncludes(unknown, 'unknown command "shutdown"');
  assertIncludes(unknown, "status, down, reload");
  // Prototype keys are not commands.
  assertIncludes(rejection('{"command":"constructor"}'), "unknown command");
  assertIncludes(rejection('{"command":"__proto__"}'), "unknown command");
});

Deno.test("control request: over 64 KiB is refused before parsing", () => {
  const padding = " ".repeat(MAX_REQUEST_BYTES);
  assertIncludes(rejection(`{"command":"status"}${padding}`), "request too large");
  // Exactly the limit is fine.
  const fits = '{"command":"status"}';
  assertEquals(validateControlRequest(fits + " ".repeat(MAX_REQUEST_BYTES - fits.length)).ok, true);
  // The limit counts bytes, not UTF-16 units.
  assertIncludes(rejection(`"${"é".repeat(MAX_REQUEST_BYTES / 2)}"`), "request too large");
});

Deno.test("control response: ok, refused, and the status shape are checked", () => {
  const status = sampleStatus();
  assertEquals(parseControlResponse(JSON.stringify({ ok: true, status }), "status"), {
    ok: true,
    status,
  });
  assertEquals(parseControlResponse('{"ok":true}', "down"), { ok: true });
  assertEquals(parseControlResponse('{"ok":false,"error":"nope"}', "down"), {
    ok: false,
    error: "nope",
  });
  assertThrows(() => parseControlResponse("<html>", "status"), ControlError, /not JSON/);
  assertThrows(() => parseControlResponse("{}", "status"), ControlError, /without "ok"/);
  assertThrows(() => parseControlResponse('{"ok":false}', "down"), ControlError, /saying why/);
  assertThrows(() => parseControlResponse('{"ok":true}', "status"), ControlError, /not an object/);
  const broken = sampleStatus() as unknown as { peers: Record<string, unknown>[] };
  broken.peers[1].rx_bytes = -1;
  assertThrows(
    () => parseControlResponse(JSON.stringify({ ok: true, status: broken }), "status"),
    ControlError,
    /status\.peers\[1\]\.rx_bytes is not a byte count/,
  );
  const badState = sampleStatus() as unknown as { peers: Record<string, unknown>[] };
  badState.peers[0].state = "zombie";
  assertThrows(
    () => parseControlResponse(JSON.stringify({ ok: true, status: badState }), "status"),
    ControlError,
    /state is not a peer state/,
  );
  const badPath = sampleStatus() as unknown as { peers: Record<string, unknown>[] };
  badPath.peers[1].connection = "carrier-pigeon";
  assertThrows(
    () => parseControlResponse(JSON.stringify({ ok: true, status: badPath }), "status"),
    ControlError,
    /connection is not a connection/,
  );
  const noRelay = sampleStatus() as unknown as { peers: Record<string, unknown>[] };
  delete noRelay.peers[0].relay;
  assertThrows(
    () => parseControlResponse(JSON.stringify({ ok: true, status: noRelay }), "status"),
    ControlError,
    /relay is not a string/,
  );
});

Deno.test("control response: the IPv4 conflicts and the member cap are checked strictly", () => {
  const refuse = (mutate: (status: Record<string, unknown>) => void, pattern: RegExp) => {
    const status = sampleStatus() as unknown as Record<string, unknown>;
    mutate(status);
    assertThrows(
      () => parseControlResponse(JSON.stringify({ ok: true, status }), "status"),
      ControlError,
      pattern,
    );
  };
  const conflict = (status: Record<string, unknown>) =>
    (status.ipv4_conflicts as Record<string, unknown>[])[0];
  refuse((s) => delete s.ipv4_conflicts, /status\.ipv4_conflicts is not an array/);
  refuse((s) => conflict(s).reason = "smaller-key", /reason is not a conflict reason/);
  refuse((s) => delete conflict(s).holder, /ipv4_conflicts\[0\]\.holder/);
  refuse((s) => conflict(s).ipv6_only = [{ name: "x" }], /ipv6_only\[0\]\.public_key/);
  refuse((s) => s.max_members = -1, /max_members is not a count or null/);
  refuse((s) => delete s.refused_members, /refused_members is not a count/);
  refuse((s) => delete s.nat, /status\.nat/);
  refuse((s) => (s.nat as Record<string, unknown>).mapping = "cone", /mapping is not a mapping/);
  // Nobody holding it ("undecided") is valid.
  const undecided = sampleStatus();
  undecided.ipv4_conflicts[0] = {
    ...undecided.ipv4_conflicts[0],
    holder: null,
    reason: "undecided",
  };
  const parsed = parseControlResponse(JSON.stringify({ ok: true, status: undecided }), "status");
  assertEquals(parsed, { ok: true, status: undecided });
});

Deno.test("control authorization: down and reload need root or the daemon's uid", () => {
  const daemonUid = 1000;
  for (const command of ["down", "reload"] as const) {
    assertEquals(authorizeControlCommand(command, 0, daemonUid), null);
    assertEquals(authorizeControlCommand(command, daemonUid, daemonUid), null);
    const denial = authorizeControlCommand(command, 65534, daemonUid);
    assertTrue(denial !== null);
    assertTrue(denial!.startsWith("permission denied: "));
    assertIncludes(denial!, "uid 1000");
    assertIncludes(denial!, "you are uid 65534");
  }
  for (const uid of [0, daemonUid, 65534, 1001]) {
    assertEquals(authorizeControlCommand("status", uid, daemonUid), null);
  }
  // A root daemon: only root may stop it.
  assertEquals(authorizeControlCommand("down", 0, 0), null);
  assertTrue(authorizeControlCommand("down", 1000, 0) !== null);
});

Deno.test("control path: /run/meshguard for root, the config dir otherwise", () => {
  assertEquals(CONTROL_SOCKET_DIR, "/run/meshguard");
  assertEquals(defaultControlPath("mg0", "/etc/meshguard", 0), "/run/meshguard/mg0.sock");
  assertEquals(
    defaultControlPath("mg2", "/home/ann/.config/meshguard", 1000),
    "/home/ann/.config/meshguard/mg2.sock",
  );
  // An unknown uid is not root.
  assertEquals(defaultControlPath("mg0", "/cfg", null), "/cfg/mg0.sock");
});

Deno.test("control path: interface names follow Linux's rule", () => {
  for (const name of ["mg0", "mg-test_1", "a", "x".repeat(15), "wg.1"]) {
    assertTrue(isValidInterfaceName(name), name);
  }
  for (const name of ["", ".", "..", "x".repeat(16), "a/b", "a:b", "a b", "a\tb", "../../etc"]) {
    assertTrue(!isValidInterfaceName(name), JSON.stringify(name));
  }
});

Deno.test("control protocol: status names are strings or null; older daemons without them parse", () => {
  const status = JSON.parse(JSON.stringify(sampleStatus()));
  assertEquals(checkDaemonStatus(status).dns_name, undefined);
  status.dns_name = "gw.mesh";
  status.name_conflicts = [];
  status.peers[0].dns_name = null;
  assertEquals(checkDaemonStatus(status).dns_name, "gw.mesh");
  status.peers[0].dns_name = 7;
  assertThrows(() => checkDaemonStatus(status), ControlError, /status\.peers\[0\]\.dns_name/);
  status.peers[0].dns_name = "x.mesh";
  status.name_conflicts = [1];
  assertThrows(() => checkDaemonStatus(status), ControlError, /status\.name_conflicts/);
});
