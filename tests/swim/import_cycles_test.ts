/**
 * lib/swim has no import cycle (issue 12): its modules form layers (the node state below the
 * protocol parts, the engine on top), so each can be read and tested from the bottom up. The
 * imports are read from the sources, so a new cycle fails here with the modules that form it.
 */

import { assertEquals } from "../assert.ts";

const SWIM_DIR = new URL("../../lib/swim/", import.meta.url);

/** `import … from "…"`, `export … from "…"`, `import "…"` and `import("…")`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

/** Each module of `dir` (by file name) with the modules of `dir` it imports (types included). */
function importGraph(dir: URL): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    const file = new URL(entry.name, dir);
    const targets: string[] = [];
    for (const match of Deno.readTextFileSync(file).matchAll(IMPORT)) {
      const target = new URL(match[1], file).href;
      if (target.startsWith(dir.href) && !target.slice(dir.href.length).includes("/")) {
        targets.push(target.slice(dir.href.length));
      }
    }
    graph.set(entry.name, targets);
  }
  return graph;
}

/** One import cycle of `graph` as the path that closes it (`a → b → a`), or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (node: string): string[] | null => {
    if (onPath.has(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return null;
    path.push(node);
    onPath.add(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== null) return cycle;
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle !== null) return cycle;
  }
  return null;
}

Deno.test("import cycles: the finder reports a cycle and accepts layers", () => {
  const layered = new Map([["a.ts", ["b.ts", "c.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]]);
  assertEquals(findCycle(layered), null);
  const cyclic = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["b.ts"]]]);
  assertEquals(findCycle(cyclic), ["b.ts", "c.ts", "b.ts"]);
  assertEquals(findCycle(new Map([["a.ts", ["a.ts"]]])), ["a.ts", "a.ts"]);
});

Deno.test("import cycles: the parser sees every form of import in lib/swim", () => {
  const graph = importGraph(SWIM_DIR);
  // Spot checks that the parse found real edges: a type-only import, a multi-line import
  // and a value import, so an empty graph cannot pass the cycle check below.
  for (
    const [from, to] of [
      ["engine_state.ts", "probe_types.ts"],
      ["engine_state.ts", "member_table.ts"],
      ["join.ts", "hello.ts"],
      ["mod.ts", "engine.ts"],
    ]
  ) {
    assertEquals(graph.get(from)?.includes(to), true, `${from} → ${to} not parsed`);
  }
});

Deno.test("import cycles: lib/swim has none", () => {
  const cycle = findCycle(importGraph(SWIM_DIR));
  assertEquals(cycle, null, `lib/swim import cycle: ${cycle?.join(" → ")}`);
});
