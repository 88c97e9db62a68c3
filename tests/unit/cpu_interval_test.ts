import {
  BUSY_INTERVAL,
  CpuInterval,
  IDLE_INTERVAL,
  NO_INTERVAL,
} from "../../lib/device/cpu_interval.ts";
import { assertEquals } from "../assert.ts";

Deno.test("cpu interval: judged from the second sample on, exactly the fraction counts as idle", () => {
  const cpu = new CpuInterval(0.1);
  // 1 s apart: 100,000 µs of CPU is exactly a tenth of a core.
  assertEquals(
    [
      cpu.sample(0, 0),
      cpu.sample(1_000, 100_000),
      cpu.sample(2_000, 200_001),
      cpu.sample(2_000, 900_000),
      cpu.sample(3_000, 900_000),
    ],
    [NO_INTERVAL, IDLE_INTERVAL, BUSY_INTERVAL, NO_INTERVAL, IDLE_INTERVAL],
  );
});
