import { assertEquals } from "../assert.ts";
import { IdleMemoryRelief } from "../../lib/device/idle_memory.ts";
import { droppableImageSegments, parseSmaps } from "../../ffi/memory_release.ts";

/** Feeds (ms, CPU µs used during the interval) steps; returns when a release was asked for. */
function releases(steps: [number, number][]): number[] {
  const relief = new IdleMemoryRelief(0.05);
  let now = 0;
  let cpu = 0;
  relief.sample(now, cpu);
  const at: number[] = [];
  for (const [elapsed, used] of steps) {
    now += elapsed;
    cpu += used;
    if (relief.sample(now, cpu)) at.push(now);
  }
  return at;
}

Deno.test("idle memory: released after start-up once the first quiet interval ends", () => {
  // 20 s at 0.1 % of a core, then more of the same: one release, not one per interval.
  assertEquals(releases([[20_000, 20_000], [20_000, 20_000], [20_000, 20_000]]), [20_000]);
});

Deno.test("idle memory: never while busy, again after each busy spell", () => {
  const busy: [number, number] = [20_000, 15_000_000]; // 75 % of a core
  const quiet: [number, number] = [20_000, 100_000]; // 0.5 %
  assertEquals(releases([busy, busy, quiet, quiet, busy, quiet, quiet]), [60_000, 120_000]);
});

Deno.test("idle memory: the threshold is a fraction of the interval, not an absolute amount", () => {
  // 4 % of a core over 1 s and over 60 s: idle both times; 6 %: busy.
  assertEquals(releases([[1_000, 40_000]]), [1_000]);
  assertEquals(releases([[60_000, 2_400_000]]), [60_000]);
  assertEquals(releases([[60_000, 3_600_000]]), []);
});

Deno.test("idle memory: every idle interval is told apart (the heap is collected each time)", () => {
  const relief = new IdleMemoryRelief(0.05);
  const idle: boolean[] = [];
  let cpu = 0;
  relief.sample(0, cpu);
  idle.push(relief.lastIntervalIdle);
  for (const [at, used] of [[20_000, 100_000], [40_000, 100_000], [60_000, 15_000_000]]) {
    cpu += used;
    relief.sample(at, cpu);
    idle.push(relief.lastIntervalIdle);
  }
  assertEquals(idle, [false, true, true, false]);
});

const SMAPS =
  `55ca10e0f000-55ca1299d000 r--p 00000000 fe:00 1442214                    /usr/bin/deno
Rss:               13172 kB
Anonymous:             0 kB
55ca12c13000-55ca16907000 r-xp 01b8e000 fe:00 1442214                    /usr/bin/deno
Rss:               30528 kB
Anonymous:             0 kB
55ca16907000-55ca16b79000 rw-p 05881000 fe:00 1442214                    /usr/bin/deno
Rss:                2504 kB
Anonymous:          2504 kB
55ca16b89000-55ca16b8a000 r--p 05b02000 fe:00 1442214                    /usr/bin/deno
Rss:                   4 kB
Anonymous:             4 kB
55ca3faa9000-55ca4056b000 rw-p 00000000 00:00 0                          [heap]
Rss:               10864 kB
Anonymous:         10864 kB
7f797bdc0000-7f797bfe6000 r-xp 035cf000 fe:00 1442214                    /usr/bin/deno
Rss:                1984 kB
Anonymous:             0 kB
7f7a29a8c000-7f7a29bf2000 r-xp 00028000 fe:00 2100001                    /usr/lib/libc.so.6
Rss:                1292 kB
Anonymous:             0 kB
`;

Deno.test("idle memory: only the executable's read-only image segments are dropped", () => {
  const mappings = parseSmaps(SMAPS);
  assertEquals(mappings.length, 7);
  assertEquals(mappings[1].residentBytes, 30528 * 1024);
  // Not the data segment, not RELRO (written at load: anonymous pages), not V8's builtins copy
  // (an isolate's, unmapped when it ends), not another file.
  assertEquals(
    droppableImageSegments(mappings, "/usr/bin/deno").map((m) => m.start.toString(16)),
    ["55ca10e0f000", "55ca12c13000"],
  );
  assertEquals(droppableImageSegments(mappings, "/usr/bin/other"), []);
  // A read-only segment with a copied-on-write page is kept.
  const touched = parseSmaps(
    SMAPS.replace("Anonymous:             0 kB", "Anonymous:             4 kB"),
  );
  assertEquals(droppableImageSegments(touched, "/usr/bin/deno").length, 1);
});

Deno.test("idle memory: a configuration change asks for one more release while idle", () => {
  const relief = new IdleMemoryRelief(0.05);
  relief.sample(0, 0);
  assertEquals(relief.sample(20_000, 1_000), true);
  assertEquals(relief.sample(40_000, 2_000), false);
  relief.arm();
  assertEquals(relief.sample(60_000, 3_000), true);
  assertEquals(relief.sample(80_000, 4_000), false);
});
