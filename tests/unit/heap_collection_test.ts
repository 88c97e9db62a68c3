import { assertTrue } from "../assert.ts";
import { collectGarbage } from "../../lib/device/heap_collection.ts";

Deno.test("heap collection: a full GC frees unreachable objects at once, and again later", () => {
  let held: { i: number; text: string }[] = [];
  for (let i = 0; i < 200_000; i++) held.push({ i, text: `object ${i}` });
  const before = Deno.memoryUsage().heapUsed;
  held = [];
  assertTrue(collectGarbage(), "the runtime ran a full GC");
  const after = Deno.memoryUsage().heapUsed;
  assertTrue(before - after > 5 << 20, `heap used ${before} -> ${after} bytes`);
  assertTrue(collectGarbage(), "a second GC runs too");
  assertTrue(held.length === 0);
});
