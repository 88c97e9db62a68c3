import { assertEquals, assertTrue } from "../assert.ts";
import { PartitionedRun } from "../swim/sim/partitioned_run.ts";

/** A lossy WAN run with a join and a crash; returns everything a partitioning could change. */
async function scenario(partitions: number) {
  const run = await PartitionedRun.create({ n: 41, seed: 9, profile: "wan", partitions });
  try {
    await run.setLink({ loss: 0.05, latency: 20, jitter: 30 });
    await run.start([...Array(40).keys()], [0]);
    await run.watchDead(-1);
    await run.run(20_000);
    await run.start([40], [3]);
    const joined = await run.runUntil(
      { kind: "all-see-alive", subject: 40, among: 40 },
      60_000,
      250,
    );
    const victim = 1 + Math.floor((await run.random()) * 39);
    await run.watchDead(victim);
    await run.crash(victim);
    const detected = await run.runUntil({ kind: "none-see-live", subject: victim }, 180_000, 250);
    await run.run(run.now + 30_000);
    const stats = await run.stats();
    return {
      joined,
      victim,
      detected,
      datagrams: stats.datagrams,
      bytes: stats.bytes,
      talked: stats.talked,
      up: stats.up,
      falseDead: stats.falseDead,
      views: await run.views(),
      windows: stats.windows,
    };
  } finally {
    run.close();
  }
}

Deno.test({
  name:
    "partitioned simulation: one, two or three threads give the same run, datagram for datagram",
  async fn() {
    const one = await scenario(1);
    assertTrue(
      one.joined !== null && one.detected !== null,
      "the joiner was seen and the crash detected",
    );
    assertEquals(one.up, 40);
    assertTrue(one.datagrams > 10_000, `only ${one.datagrams} datagrams`);
    assertEquals(one.windows, 0);
    for (const partitions of [2, 3]) {
      const split = await scenario(partitions);
      assertTrue(split.windows > 0, "the split run exchanged windows");
      assertEquals({ ...split, windows: 0 }, { ...one, windows: 0 }, `${partitions} partitions`);
    }
  },
});
