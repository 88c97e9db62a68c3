/** The engine's timers: tie order, and the remembered deadline against pushes and cancels. */

import { MinHeap } from "../../lib/swim/min_heap.ts";
import { TimerHeap } from "../../lib/swim/timer_heap.ts";
import { assertEquals } from "../assert.ts";
import { mulberry32 } from "./sim/prng.ts";

/**
 * The heap the engine used before keys moved into a typed array (objects, `less` on `at`).
 * Timers at the same time run in the order its shape gives, and seeded simulations depend on
 * that order, so the keyed heap must give exactly the same one.
 */
class ReferenceHeap {
  readonly items: { at: number; id: number }[] = [];

  push(item: { at: number; id: number }): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(item.at < items[parent].at)) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): { at: number; id: number } | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && items[right].at < items[left].at ? right : left;
        if (!(items[child].at < last.at)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

Deno.test("min heap: equal keys come out exactly as the object heap gave them", () => {
  const random = mulberry32(11);
  const heap = new MinHeap<number>();
  const reference = new ReferenceHeap();
  const got: number[] = [];
  const want: number[] = [];
  for (let id = 0; id < 20_000; id++) {
    const at = Math.floor(random() * 16);
    heap.push(at, id);
    reference.push({ at, id });
    while (random() < 0.45) {
      assertEquals(heap.peekKey(), reference.items[0]?.at ?? Infinity);
      got.push(heap.pop() ?? -1);
      want.push(reference.pop()?.id ?? -1);
    }
  }
  while (heap.size > 0) {
    got.push(heap.pop()!);
    want.push(reference.pop()!.id);
  }
  assertEquals(got, want);
  assertEquals([heap.pop(), heap.peek(), heap.peekKey()], [undefined, undefined, Infinity]);
});

Deno.test("timer heap: the deadline follows earlier pushes, cancels and due runs", () => {
  const heap = new TimerHeap();
  const ran: string[] = [];
  assertEquals(heap.peek(), Infinity);
  const ten = heap.add(10, () => ran.push("10"));
  assertEquals(heap.peek(), 10);
  heap.add(20, () => ran.push("20"));
  assertEquals(heap.peek(), 10, "a later timer leaves the deadline");
  const five = heap.add(5, () => ran.push("5"));
  assertEquals(heap.peek(), 5, "an earlier timer is the new deadline");
  five.cancelled = true;
  assertEquals(heap.peek(), 10, "cancelling the earliest moves the deadline on");
  heap.runDue(4);
  assertEquals(ran, []);
  ten.cancelled = true;
  assertEquals(heap.peek(), 20);
  heap.add(15, () => {
    ran.push("15");
    // Added while running: due now, so it runs in this same call.
    heap.add(15, () => ran.push("15 again"));
    heap.add(30, () => ran.push("30"));
  });
  assertEquals(heap.peek(), 15);
  heap.runDue(20);
  assertEquals(ran, ["15", "15 again", "20"]);
  assertEquals(heap.peek(), 30);
  heap.runDue(30);
  assertEquals(ran.at(-1), "30");
  assertEquals([heap.peek(), heap.size], [Infinity, 0]);
});
