import { assertEquals } from "../assert.ts";
import { BUSY_REPEAT_MS, LOAD_WINDOW_MS, WorkerLoad } from "../../lib/device/worker_load.ts";

/** Runs a loop that waits `waitMs` then works `workMs`, for `ms`; returns when it asked for help. */
function asks(load: WorkerLoad, start: number, ms: number, waitMs: number, workMs: number) {
  const at: number[] = [];
  for (let now = start; now < start + ms;) {
    load.waitedFor(waitMs);
    now += waitMs;
    if (load.busyAt(now)) at.push(now);
    now += workMs;
  }
  return at;
}

Deno.test("worker load: an idle or half-idle worker never asks for help", () => {
  const load = new WorkerLoad();
  assertEquals(asks(load, 0, 10_000, 1000, 0.05), []); // asleep in poll
  assertEquals(asks(load, 10_000, 10_000, 2, 1.9), []); // waits a little more than it works
});

Deno.test("worker load: a busy worker asks within a window, then at most once a second", () => {
  const load = new WorkerLoad();
  const at = asks(load, 0, 3_000, 0.01, 1); // works 99 % of the time
  assertEquals(at.length, 3);
  // The first window opens at the first wait; it asks when that window closes.
  assertEquals(at[0] <= 2 * LOAD_WINDOW_MS, true);
  assertEquals(at[1] - at[0] >= BUSY_REPEAT_MS && at[1] - at[0] < BUSY_REPEAT_MS + 10, true);
});

Deno.test("worker load: one long wait after a busy stretch makes the window idle", () => {
  const load = new WorkerLoad();
  load.busyAt(0);
  load.waitedFor(200); // asleep most of the window
  assertEquals(load.busyAt(300), false);
  load.waitedFor(10);
  assertEquals(load.busyAt(600), true);
});
