/**
 * ListedBits (the punch scan's per-listed-index bits): set, clear, move and `next` agree with a
 * plain set of indices across word boundaries and growth.
 */

import { ListedBits } from "../../lib/swim/listed_bits.ts";
import { assertEquals } from "../assert.ts";
import { mulberry32 } from "./sim/prng.ts";

/** The lowest index of `model` in [from, end), or -1. */
function naiveNext(model: Set<number>, from: number, end: number): number {
  for (let i = from; i < end; i++) if (model.has(i)) return i;
  return -1;
}

Deno.test("listed bits: next finds the lowest set index in a range, words and bit 31 included", () => {
  const bits = new ListedBits();
  for (const index of [0, 31, 32, 63, 64, 95, 200]) bits.set(index);
  assertEquals(bits.next(0, 300), 0);
  assertEquals(bits.next(1, 300), 31);
  assertEquals(bits.next(32, 300), 32);
  assertEquals(bits.next(33, 300), 63);
  assertEquals(bits.next(65, 300), 95);
  assertEquals(bits.next(96, 300), 200);
  assertEquals(bits.next(96, 200), -1);
  assertEquals(bits.next(201, 10_000), -1);
  assertEquals(bits.next(5, 5), -1);
  bits.move(200, 31);
  assertEquals([bits.has(31), bits.has(200)], [true, false]);
  bits.move(1_000, 0);
  assertEquals([bits.has(0), bits.next(0, 31)], [false, -1]);
});

Deno.test("listed bits: random set/clear/move agree with a plain set", () => {
  const random = mulberry32(7);
  const bits = new ListedBits();
  const model = new Set<number>();
  for (let step = 0; step < 20_000; step++) {
    const index = Math.floor(random() * 700);
    const op = random();
    if (op < 0.4) {
      bits.set(index);
      model.add(index);
    } else if (op < 0.7) {
      bits.clear(index);
      model.delete(index);
    } else if (op < 0.8) {
      const to = Math.floor(random() * 700);
      bits.move(index, to);
      if (model.has(index)) model.add(to);
      else model.delete(to);
      model.delete(index);
    } else {
      const from = Math.floor(random() * 720);
      const end = from + Math.floor(random() * 100);
      assertEquals(bits.next(from, end), naiveNext(model, from, end), `next(${from}, ${end})`);
      assertEquals(bits.has(index), model.has(index));
    }
  }
});
