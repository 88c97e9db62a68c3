import { assertEquals } from "../assert.ts";
import { EventQueue } from "./sim/event_queue.ts";
import { SimNetwork } from "./sim/network.ts";
import { mulberry32 } from "./sim/prng.ts";

Deno.test("sim agenda: pops by time, ties in insertion order, across growth", () => {
  const random = mulberry32(7);
  const queue = new EventQueue();
  const pushed: { at: number; payload: number }[] = [];
  const popped: number[] = [];
  // Few distinct times, so most events tie; interleaved pops exercise sifts on a live heap.
  for (let i = 0; i < 5_000; i++) {
    const at = Math.floor(random() * 40) / 4;
    queue.push(at, i);
    pushed.push({ at, payload: i });
    if (random() < 0.3) popped.push(popOne(queue, pushed));
  }
  while (queue.size > 0) popped.push(popOne(queue, pushed));
  assertEquals(queue.pop(), -1);
  assertEquals(queue.peek(), Infinity);
  assertEquals(popped.length, 5_000);
});

/** Pops one event and checks it is the earliest (time, then insertion) still pending. */
function popOne(queue: EventQueue, pending: { at: number; payload: number }[]): number {
  let best = 0;
  for (let i = 1; i < pending.length; i++) {
    const a = pending[i];
    const b = pending[best];
    if (a.at < b.at || (a.at === b.at && a.payload < b.payload)) best = i;
  }
  const expected = pending.splice(best, 1)[0];
  assertEquals(queue.peek(), expected.at);
  assertEquals(queue.pop(), expected.payload);
  return expected.payload;
}

Deno.test("sim network: an event scheduled for the current time runs after those already due then", () => {
  const net = new SimNetwork(mulberry32(1));
  const log: string[] = [];
  net.at(10, () => {
    log.push("a");
    net.at(10, () => log.push("a-now"));
    net.at(5, () => log.push("a-past"));
  });
  net.at(10, () => log.push("b"));
  net.call(10, (arg, at) => log.push(`c${arg}@${at}`), 3);
  net.at(11, () => log.push("d"));
  net.run(10);
  // One scheduled in the past runs next (the clock briefly steps back, as it always did).
  assertEquals(log, ["a", "a-past", "b", "c3@10", "a-now"]);
  assertEquals(net.now, 10);
  net.run(20);
  assertEquals(log.at(-1), "d");
});

Deno.test("sim network: deliveries reuse slots without mixing up their fields; bytes per sender", () => {
  const net = new SimNetwork(mulberry32(2));
  net.link = { loss: 0, latency: 5, jitter: 0 };
  const got: string[] = [];
  net.bind("b", (from, data, now) => got.push(`${from}>b:${data[0]}@${now}`));
  net.bind("c", (from, data, now) => {
    got.push(`${from}>c:${data[0]}@${now}`);
    if (data[0] < 3) net.send("c", "b", new Uint8Array([data[0] + 10, 0]));
  });
  const a = net.sender("a");
  for (let i = 0; i < 3; i++) net.send("a", i % 2 === 0 ? "c" : "b", new Uint8Array([i]), a);
  net.send("a", "nowhere", new Uint8Array(7), a);
  net.run(100);
  assertEquals(got, ["a>c:0@5", "a>b:1@5", "a>c:2@5", "c>b:10@10", "c>b:12@10"]);
  assertEquals([...net.sentBytes], [["a", 10], ["c", 4]]);
  assertEquals(net.datagrams, 6);
});

Deno.test("sim agenda: explicit orders sort ties whatever the insertion order", () => {
  const random = mulberry32(11);
  const events: { at: number; order: number }[] = [];
  for (let i = 0; i < 2_000; i++) {
    events.push({ at: Math.floor(random() * 20), order: i * 7 + (i % 3) });
  }
  const expected = [...events].sort((a, b) => a.at - b.at || a.order - b.order).map((e) => e.order);
  // The same events pushed in two different orders pop in one order: (at, order).
  for (const shuffled of [events, [...events].reverse()]) {
    const queue = new EventQueue();
    shuffled.forEach((e) => queue.pushOrdered(e.at, e.order, e.order));
    const popped: number[] = [];
    while (queue.size > 0) popped.push(queue.pop());
    assertEquals(popped, expected);
  }
});
