import { assertEquals, assertIncludes } from "../assert.ts";
import { ConnectionLimits } from "../../lib/control/connection_limits.ts";

const DAEMON_UID = 998;

function limits(): ConnectionLimits {
  return new ConnectionLimits({
    daemonUid: DAEMON_UID,
    maxConnections: 5,
    maxConnectionsPerUid: 2,
    privilegedConnections: 2,
  });
}

Deno.test("connection limits: one user is capped, others still get in", () => {
  const table = limits();
  assertEquals(table.admit(1000), null);
  assertEquals(table.admit(1000), null);
  assertIncludes(table.admit(1000)!, "busy: uid 1000 already has 2 control connections open");
  assertEquals(table.admit(1001), null);
  table.release(1000);
  assertEquals(table.heldBy(1000), 1);
  assertEquals(table.admit(1000), null);
});

Deno.test("connection limits: other users together are capped; root and the daemon's uid never compete with them", () => {
  const table = limits();
  for (const uid of [1000, 1000, 1001, 1001, 1002]) assertEquals(table.admit(uid), null);
  assertIncludes(table.admit(1003)!, "busy: 5 control connections are open");
  // The others' pool is full, yet root and the daemon's user are served from their own slots.
  assertEquals(table.admit(0), null);
  assertEquals(table.admit(DAEMON_UID), null);
  assertIncludes(table.admit(0)!, "of root and the daemon's user");
  table.release(0);
  assertEquals(table.admit(0), null);
  // A release frees the slot of the pool it came from.
  table.release(1002);
  assertEquals(table.admit(1003), null);
});

Deno.test("connection limits: releasing a uid that holds nothing changes nothing", () => {
  const table = limits();
  table.release(1000);
  assertEquals(table.heldBy(1000), 0);
  assertEquals(table.admit(1000), null);
  assertEquals(table.admit(1000), null);
  assertIncludes(table.admit(1000)!, "busy");
});
