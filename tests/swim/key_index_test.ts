/**
 * The member table's key index against a Map, over seeded random adds, deletes and moves with
 * long probe chains (a few thousand keys, some sharing their first bytes), so a lost entry, a
 * stale value after a backward shift or a failed growth would show as a differing lookup.
 */

import { KeyIndex, MAX_KEY_INDEX_VALUE } from "../../lib/swim/key_index.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { mulberry32 } from "./sim/prng.ts";

/** A 32-character id; `prefix` keys share their first 8 characters (one hash home). */
function idOf(n: number, prefix: boolean): string {
  const head = prefix ? "\x01\x02\x03\x04\x05\x06\x07\x08" : String.fromCharCode(
    n & 255,
    (n >> 8) & 255,
    (n >> 16) & 255,
    n >> 24,
    (n * 7) & 255,
    (n * 13) & 255,
    0,
    0,
  );
  return (head + String(n).padStart(24, "#")).slice(0, 32);
}

Deno.test("swim key index: agrees with a Map over random adds, deletes and moves", () => {
  const random = mulberry32(7);
  // value → entry, as the member table's listed array.
  const values: { id: string }[] = [];
  const index = new KeyIndex(values);
  const reference = new Map<string, number>();
  const universe = Array.from({ length: 3_000 }, (_, n) => idOf(n, n % 10 === 0));
  for (let step = 0; step < 40_000; step++) {
    const id = universe[Math.floor(random() * universe.length)];
    const known = reference.get(id);
    if (known === undefined) {
      // Add at the end, as `join` pushes onto the listed array.
      values.push({ id });
      index.add(id, values.length - 1);
      reference.set(id, values.length - 1);
    } else if (random() < 0.7) {
      // Swap-remove, as `#unlist` does.
      index.delete(id);
      reference.delete(id);
      const last = values.length - 1;
      if (known !== last) {
        const moved = values[last];
        index.move(moved.id, known);
        values[known] = moved;
        reference.set(moved.id, known);
      }
      values.pop();
    }
    if (step % 97 === 0) {
      for (const probe of universe) assertEquals(index.get(probe), reference.get(probe) ?? -1);
    }
  }
  assertEquals(index.size, reference.size);
  for (const probe of universe) assertEquals(index.get(probe), reference.get(probe) ?? -1);
});

Deno.test("swim key index: deleting or moving a key it does not hold, or a value too large, says so", () => {
  const index = new KeyIndex([{ id: "x".repeat(32) }]);
  assertThrows(() => index.delete("y".repeat(32)), Error, /not in the index/);
  assertThrows(() => index.move("y".repeat(32), 0), Error, /not in the index/);
  assertThrows(() => index.add("y".repeat(32), MAX_KEY_INDEX_VALUE + 1), RangeError, /outside/);
});
