/**
 * The token bucket: once `isFull` says so, it answers every later `take` exactly as a new
 * bucket would (Member.releaseIdle drops sync buckets on that promise).
 */

import { TokenBucket } from "../../lib/swim/token_bucket.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { mulberry32 } from "./sim/prng.ts";

Deno.test("token bucket: a bucket full at some time behaves as a new one from then on", () => {
  const random = mulberry32(11);
  let swaps = 0;
  let notFull = 0;
  for (let run = 0; run < 300; run++) {
    const rate = [0.3, 1, 7, 200, 1_000 / 3][run % 5];
    const burst = [1, 2, 3.5, 200][Math.floor(random() * 4)];
    let bucket = new TokenBucket(rate, burst);
    // A twin that is replaced by a new bucket whenever `isFull` allows it.
    let twin = new TokenBucket(rate, burst);
    let now = random() * 1e6;
    let last = now;
    for (let step = 0; step < 400; step++) {
      // Fractional gaps, often near the refill time of one token and of the whole burst.
      const scale = random() < 0.5 ? 1_000 / rate : burst * 1_000 / rate;
      const pick = random();
      // Exactly a whole number of token times after the last take: where rounding decides.
      if (pick < 0.3) now = last + Math.ceil(random() * burst) * 1_000 / rate;
      else if (pick > 0.4) now += scale * random() * 1.2;
      if (random() < 0.5) {
        if (twin.isFull(now)) {
          twin = new TokenBucket(rate, burst);
          swaps++;
        } else notFull++;
      }
      assertEquals(twin.take(now), bucket.take(now), `run ${run} step ${step}`);
      last = now;
      if (random() < 0.01) {
        bucket = new TokenBucket(rate, burst);
        twin = new TokenBucket(rate, burst);
      }
    }
  }
  assertTrue(swaps > 1_000 && notFull > 1_000, `both cases exercised: ${swaps} / ${notFull}`);
});

Deno.test("token bucket: not full right after a take, full once the burst refilled", () => {
  const bucket = new TokenBucket(10, 2);
  assertTrue(bucket.isFull(0), "never used");
  assertTrue(bucket.take(1_000));
  assertTrue(!bucket.isFull(1_000) && !bucket.isFull(1_099.9));
  assertTrue(bucket.isFull(1_100) && bucket.isFull(5_000));
});
