/**
 * The mesh demo (`tests/demo/mesh_demo.ts`, the README's main job) runs to the end with exactly
 * the permissions it documents, shows a formed mesh (node3 admitted by an org certificate), v4
 * and v6 pings, pings by trust name and by certificate name, the status table, and leaves no
 * namespace or file behind.
 */

import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { meshSkipReason } from "./helpers/mesh_lab.ts";
import { assertDemoCleanedUp, runDemo } from "./helpers/demo_run.ts";

const DEMO = fileURLToPath(new URL("../demo/mesh_demo.ts", import.meta.url));

const skip = await meshSkipReason();

Deno.test({
  name:
    "mesh demo: builds a 3-node mesh (one node by org certificate), pings across it and by name, prints status, removes everything",
  ignore: skip !== null,
  async fn() {
    const stdout = await runDemo(DEMO);
    assertIncludes(stdout, "full mesh: every node sees the two others alive");
    const pings = stdout.match(/node\d → node\d \S+: [\d.]+ ms/g) ?? [];
    assertEquals(pings.length, 12, `expected 6 pairs × (IPv4, IPv6) pings:\n${stdout}`);
    assertTrue(pings.some((line) => line.includes(" fd99:6d67:")), "no IPv6 ping shown");
    assertTrue(
      /node1 \$ ping node2\.mesh → (10\.99\.|fd99:6d67:)\S+: [\d.]+ ms/.test(stdout),
      `no ping by name:\n${stdout}`,
    );
    assertTrue(
      /node1 \$ ping node3\.[0-9a-f]{6}\.mesh → (10\.99\.|fd99:6d67:)\S+: [\d.]+ ms/.test(stdout),
      `no ping by org certificate name:\n${stdout}`,
    );
    assertTrue(
      /node3\.[0-9a-f]{6}\.mesh/.test(stdout.split("$ meshguard status")[1] ?? ""),
      "status",
    );
    assertIncludes(stdout, "$ meshguard status");
    assertTrue(/NAME\s+DNS NAME\s+MESH IP/.test(stdout), `no status table:\n${stdout}`);
    assertIncludes(stdout, "demo finished");

    await assertDemoCleanedUp(stdout);
  },
});
