import { assertEquals } from "../assert.ts";
import { FRESH_PATH_RETRIES_MS, FreshPaths } from "../../lib/daemon/fresh_paths.ts";

Deno.test("fresh paths: each new path is asked again at 1 s and 2.5 s from the next arm, then forgotten", () => {
  const fresh = new FreshPaths();
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  fresh.usable(a);
  assertEquals(fresh.nextDeadline(), Infinity, "not timed before arm");
  fresh.arm(1_000);
  fresh.usable(b);
  fresh.arm(1_200);
  assertEquals(fresh.nextDeadline(), 1_000 + FRESH_PATH_RETRIES_MS[0]);
  assertEquals(fresh.due(1_999), []);
  assertEquals(fresh.due(2_000), [a]);
  assertEquals(fresh.due(2_000), [], "once per retry");
  assertEquals(fresh.due(2_200), [b]);
  // Late ticks skip the retries already past: one ask, not a burst.
  assertEquals(fresh.due(10_000), [a, b]);
  assertEquals(fresh.size, 0);
  assertEquals(fresh.nextDeadline(), Infinity);
});

Deno.test("fresh paths: a path made usable again restarts its retries", () => {
  const fresh = new FreshPaths();
  const a = new Uint8Array(32).fill(1);
  fresh.usable(a);
  fresh.arm(0);
  assertEquals(fresh.due(1_000), [a]);
  fresh.usable(a);
  fresh.arm(1_500);
  assertEquals(fresh.due(2_000), []);
  assertEquals(fresh.due(2_500), [a]);
  assertEquals(fresh.due(4_000), [a]);
  assertEquals(fresh.size, 0);
});
