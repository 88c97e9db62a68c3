import { assertEquals, assertThrows } from "../assert.ts";
import {
  RETIRE_CPU_FRACTION,
  retireSampleInterval,
  WorkerRetirement,
} from "../../lib/device/worker_retirement.ts";

/** Feeds samples every `step` ms at `fraction` of a core; returns the times a retire was due. */
function feed(
  retirement: WorkerRetirement,
  clock: { now: number; cpu: number },
  steps: number,
  step: number,
  fraction: number,
): number[] {
  const due: number[] = [];
  for (let i = 0; i < steps; i++) {
    clock.now += step;
    clock.cpu += fraction * step * 1000;
    if (retirement.sample(clock.now, clock.cpu)) due.push(clock.now);
  }
  return due;
}

Deno.test("worker retirement: due once per full idle period, not before", () => {
  const retirement = new WorkerRetirement(60_000);
  const clock = { now: 0, cpu: 0 };
  retirement.sample(0, 0);
  assertEquals(feed(retirement, clock, 5, 10_000, 0.01), []);
  assertEquals(feed(retirement, clock, 1, 10_000, 0.01), [60_000]);
  // The next worker waits for another whole period.
  assertEquals(feed(retirement, clock, 6, 10_000, 0.01), [120_000]);
});

Deno.test("worker retirement: one busy sample starts the period again", () => {
  const retirement = new WorkerRetirement(60_000);
  const clock = { now: 0, cpu: 0 };
  retirement.sample(0, 0);
  assertEquals(feed(retirement, clock, 5, 10_000, 0.01), []);
  assertEquals(feed(retirement, clock, 1, 10_000, RETIRE_CPU_FRACTION * 2), []);
  assertEquals(feed(retirement, clock, 5, 10_000, 0.01), []);
  assertEquals(feed(retirement, clock, 1, 10_000, 0.01), [120_000]);
});

Deno.test("worker retirement: a growth restarts the period; just below the threshold is idle", () => {
  const retirement = new WorkerRetirement(3_000);
  const clock = { now: 0, cpu: 0 };
  retirement.sample(0, 0);
  assertEquals(feed(retirement, clock, 2, 1_000, 0.01), []);
  retirement.restart(clock.now);
  assertEquals(feed(retirement, clock, 2, 1_000, RETIRE_CPU_FRACTION * 0.99), []);
  assertEquals(feed(retirement, clock, 1, 1_000, RETIRE_CPU_FRACTION * 0.99), [5_000]);
});

Deno.test("worker retirement: a sustained load never retires; a zero period is refused", () => {
  const retirement = new WorkerRetirement(1_000);
  const clock = { now: 0, cpu: 0 };
  retirement.sample(0, 0);
  assertEquals(feed(retirement, clock, 100, 250, 0.5), []);
  assertEquals(retireSampleInterval(60_000), 10_000);
  assertEquals(retireSampleInterval(1_000), 250);
  assertThrows(() => new WorkerRetirement(0), RangeError);
});
