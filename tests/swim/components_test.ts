/** The small parts on their own: suspicion timer, awareness, replay window, queue, bucket, profiles. */

import { Awareness } from "../../lib/swim/awareness.ts";
import { BroadcastQueue } from "../../lib/swim/broadcast_queue.ts";
import { resolveSwimConfig, retransmitLimit, suspicionTimeout } from "../../lib/swim/profiles.ts";
import { TokenBucket } from "../../lib/swim/token_bucket.ts";
import { SessionTable } from "../../lib/swim/session_table.ts";
import { Suspicion } from "../../lib/swim/suspicion.ts";
import { SwimConfigError } from "../../lib/swim/swim_errors.ts";
import { TimerHeap } from "../../lib/swim/timer_heap.ts";
import { assertEquals, assertThrows, assertTrue } from "../assert.ts";

Deno.test("suspicion: starts at max, shrinks with independent confirmations to min", () => {
  const s = new Suspicion("me", 3, 1_000, 6_000, 0);
  assertEquals(s.deadline, 6_000);
  assertTrue(!s.confirm("me"), "the starter is not a confirmation");
  assertTrue(s.confirm("a"));
  assertTrue(!s.confirm("a"), "duplicates do not count");
  const afterOne = s.deadline;
  assertTrue(afterOne < 6_000 && afterOne > 1_000);
  s.confirm("b");
  s.confirm("c");
  assertEquals(s.deadline, 1_000);
  assertTrue(!s.confirm("d"), "beyond k nothing changes");
  assertEquals(new Suspicion("me", 0, 1_000, 6_000, 5).deadline, 1_005);
});

Deno.test("awareness: score rises on trouble, falls on success, scales timeouts, is clamped", () => {
  const a = new Awareness(8);
  assertEquals(a.scale(500), 500);
  a.apply(3);
  assertEquals(a.scale(500), 2_000);
  a.apply(100);
  assertEquals(a.score, 7);
  a.apply(-100);
  assertEquals(a.score, 0);
});

Deno.test("replay window: fresh, duplicate, reordered, too old, epochs", () => {
  const sessions = new SessionTable();
  sessions.open(); // a neighbour slot, which must not be disturbed
  const slot = sessions.open();
  const take = (epoch: number, counter: number) => {
    if (!sessions.fresh(slot, epoch, counter)) return false;
    sessions.accept(slot, epoch, counter);
    return true;
  };
  assertTrue(take(5, 10));
  assertTrue(!take(5, 10), "duplicate");
  assertTrue(take(5, 8), "reordered within window");
  assertTrue(!take(5, 8), "reordered duplicate");
  assertTrue(take(5, 100));
  assertTrue(!take(5, 60), "older than the window");
  assertTrue(take(5, 99));
  assertTrue(take(5, 68) && !take(5, 68));
  assertTrue(!take(4, 1000), "older epoch");
  assertTrue(take(6, 0), "newer epoch starts over");
  assertTrue(!take(5, 101), "old epoch after a new one");
  assertTrue(sessions.fresh(0, 5, 10), "the neighbour's window is untouched");
  assertTrue(take(6, 33) && take(6, 1) && !take(6, 1), "bit 31 of the mask (a negative int)");
  sessions.close(slot);
  assertEquals(sessions.open(), slot, "a closed slot is reused");
  assertTrue(take(6, 1), "and starts empty");
});

Deno.test("broadcast queue: least-sent first, retransmit limit, replacement by key, cap", () => {
  const q = new BroadcastQueue(3);
  q.push("a", new Uint8Array(100));
  q.push("b", new Uint8Array(100));
  assertEquals(q.take(150, 2).length, 1, "budget respected");
  assertEquals(q.take(1000, 2).length, 2);
  assertEquals(q.size, 1, "the item sent twice is gone");
  q.push("a", new Uint8Array(10));
  q.push("a", new Uint8Array(20));
  assertEquals(q.size, 1, "same key replaces");
  q.push("c", new Uint8Array(1));
  q.push("d", new Uint8Array(1));
  assertEquals(q.size, 3, "cap holds");
  assertEquals(retransmitLimit(4, 9), 4);
  assertEquals(retransmitLimit(4, 1000), 16);
});

Deno.test("broadcast queue: the recipient's own record is skipped and keeps its transmissions", () => {
  const q = new BroadcastQueue(8);
  const own = new Uint8Array(10).fill(1);
  const other = new Uint8Array(10).fill(2);
  q.push("rB", own);
  q.push("rC", other);
  assertEquals(q.take(1000, 2, 255, "rB"), [other], "B is not sent B's own record");
  assertEquals(q.take(1000, 2, 255, "rC"), [own]);
  assertEquals(q.take(1000, 2, 255, "rB"), [other]);
  assertEquals(q.size, 1, "C's record went out twice (to others) and is gone");
  assertEquals(q.take(1000, 2, 255, "rX"), [own]);
  assertEquals(q.size, 0);
});

Deno.test("token bucket and timer heap", () => {
  const b = new TokenBucket(10, 2);
  assertTrue(b.take(0) && b.take(0) && !b.take(0));
  assertTrue(b.take(100), "refilled after 100 ms at 10/s");
  const heap = new TimerHeap();
  const order: number[] = [];
  for (const at of [5, 1, 9, 3]) heap.add(at, () => order.push(at));
  heap.add(2, () => order.push(2)).cancelled = true;
  assertEquals(heap.peek(), 1);
  heap.runDue(5);
  assertEquals(order, [1, 3, 5]);
});

Deno.test("profiles: lan/wan defaults, formulas, and config errors", () => {
  const lan = resolveSwimConfig("lan");
  const wan = resolveSwimConfig("wan");
  assertEquals([lan.probeInterval, lan.probeTimeout, lan.indirectChecks], [1_000, 500, 3]);
  assertEquals([wan.probeInterval, wan.probeTimeout, wan.gossipNodes], [5_000, 3_000, 4]);
  assertEquals(suspicionTimeout(wan, 1000), 60_000);
  assertThrows(() => resolveSwimConfig("lan", { probeTimeout: 2_000 }), SwimConfigError, /shorter/);
  assertThrows(() => resolveSwimConfig("lan", { probeInterval: NaN }), SwimConfigError, /finite/);
});
