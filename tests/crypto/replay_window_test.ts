/**
 * The replay window against the Linux kernel's selftest table (drivers/net/wireguard/selftest/
 * counter.c, with its window constants), plus random counter streams checked against a naive
 * set-based model of the same rule.
 */

import assert from "node:assert/strict";
import type { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import {
  COUNTER_WINDOW_SIZE,
  REJECT_AFTER_MESSAGES,
  replayCheck,
  replayReset,
} from "../../lib/crypto/replay_window.ts";
import { CryptoInputError } from "../../lib/crypto/errors.ts";
import { coreFor, SeededRandom, seedFor, VARIANTS } from "./helpers.ts";

const W = BigInt(COUNTER_WINDOW_SIZE);
const T_LIM = W + 1n;
const R = REJECT_AFTER_MESSAGES;

/** One kernel table step: counter and the expected verdict. "reset" starts a fresh window. */
type Step = [bigint, boolean] | "reset";

/** The kernel's table, expressed as data: the same cases, in the same order. */
function kernelTable(): Step[] {
  const t: Step[] = ["reset"];
  const fixed: [bigint, boolean][] = [
    [0n, true],
    [1n, true],
    [1n, false],
    [9n, true],
    [8n, true],
    [7n, true],
    [7n, false],
    [T_LIM, true],
    [T_LIM - 1n, true],
    [T_LIM - 1n, false],
    [T_LIM - 2n, true],
    [2n, true],
    [2n, false],
    [T_LIM + 16n, true],
    [3n, false],
    [T_LIM + 16n, false],
    [T_LIM * 4n, true],
    [T_LIM * 4n - (T_LIM - 1n), true],
    [10n, false],
    [T_LIM * 4n - T_LIM, false],
    [T_LIM * 4n - (T_LIM + 1n), false],
    [T_LIM * 4n - (T_LIM - 2n), true],
    [T_LIM * 4n + 1n - T_LIM, false],
    [0n, false],
    [R, false],
    [R - 1n, true],
    [R, false],
    [R - 1n, false],
    [R - 2n, true],
    [R + 1n, false],
    [R + 2n, false],
    [R - 2n, false],
    [R - 3n, true],
    [0n, false],
  ];
  t.push(...fixed);

  t.push("reset");
  for (let i = 1n; i <= W; i++) t.push([i, true]);
  t.push([0n, true], [0n, false]);

  t.push("reset");
  for (let i = 2n; i <= W + 1n; i++) t.push([i, true]);
  t.push([1n, true], [0n, false]);

  t.push("reset");
  for (let i = W + 1n; i-- > 0n;) t.push([i, true]);

  t.push("reset");
  for (let i = W + 2n; i-- > 1n;) t.push([i, true]);
  t.push([0n, false]);

  t.push("reset");
  for (let i = W + 1n; i-- > 1n;) t.push([i, true]);
  t.push([W + 1n, true], [0n, false]);

  t.push("reset");
  for (let i = W + 1n; i-- > 1n;) t.push([i, true]);
  t.push([0n, true], [W + 1n, true]);
  return t;
}

/** The rule, stated naively: accept n once, if n < REJECT and n + W >= greatest accepted. */
class NaiveWindow {
  private seen = new Set<bigint>();
  private greatest = -1n;

  check(n: bigint): boolean {
    if (n >= R) return false;
    if (this.greatest >= 0n && n + W < this.greatest) return false;
    if (this.seen.has(n)) return false;
    this.seen.add(n);
    if (n > this.greatest) this.greatest = n;
    return true;
  }
}

function runTable(core: CryptoCore, slot: number): void {
  let test = 0;
  for (const step of kernelTable()) {
    if (step === "reset") {
      replayReset(core, slot);
      continue;
    }
    test++;
    const [n, expected] = step;
    assert.equal(replayCheck(core, slot, n), expected, `kernel table step ${test}: counter ${n}`);
  }
  assert.ok(test > 6 * COUNTER_WINDOW_SIZE, `table ran only ${test} steps`);
}

for (const variant of VARIANTS) {
  Deno.test(`[${variant}] replay window reproduces the kernel selftest table`, async () => {
    const core = await coreFor(variant);
    runTable(core, 0);
    // A different slot behaves the same and does not disturb slot 0's state.
    runTable(core, core.layout.replaySlots - 1);
  });

  Deno.test(`[${variant}] replay window equals a naive set model on random streams`, async () => {
    const core = await coreFor(variant);
    const seed = seedFor(`replay-${variant}`);
    const rng = new SeededRandom(seed);
    try {
      for (let stream = 0; stream < 40; stream++) {
        replayReset(core, 3);
        const model = new NaiveWindow();
        // Half the streams live just below REJECT_AFTER_MESSAGES to exercise that limit.
        let base = stream % 2 === 0 ? 0n : R - 5000n;
        for (let i = 0; i < 1500; i++) {
          const r = rng.below(100);
          let n: bigint;
          if (r < 50) n = base + BigInt(rng.below(40)); // mostly in order, some duplicates
          else if (r < 80) n = base - BigInt(rng.below(2 * COUNTER_WINDOW_SIZE + 200)); // late
          else if (r < 95) n = base + BigInt(rng.below(3 * COUNTER_WINDOW_SIZE)); // jump
          else n = base + BigInt(rng.below(200000)); // big jump: whole ring cleared
          if (n < 0n) n = 0n;
          if (n > 0xffff_ffff_ffff_ffffn) n = 0xffff_ffff_ffff_ffffn;
          assert.equal(replayCheck(core, 3, n), model.check(n), `stream ${stream} op ${i}: ${n}`);
          if (n > base && rng.below(3) === 0) base = n;
        }
      }
    } catch (error) {
      console.error(`replay random test seed: ${seed}`);
      throw error;
    }
  });
}

Deno.test("replay facade rejects bad slots and non-u64 counters", async () => {
  const core = await coreFor("simd");
  assert.throws(() => replayCheck(core, core.layout.replaySlots, 1n), CryptoInputError);
  assert.throws(() => replayCheck(core, 0, -1n), CryptoInputError);
  assert.throws(() => replayCheck(core, 0, 1n << 64n), CryptoInputError);
  // The largest u64 passes the boundary as a negative i64 and is still rejected as too large.
  replayReset(core, 0);
  assert.equal(replayCheck(core, 0, 0xffff_ffff_ffff_ffffn), false);
});
