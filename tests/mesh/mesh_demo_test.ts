/**
 * The mesh demo (`tests/demo/mesh_demo.ts`, the README's main job) runs to the end with exactly
 * the permissions it documents, shows a formed mesh (node3 admitted by an org certificate), v4
 * and v6 pings, pings by trust name and by certificate name, the status table, and leaves no
 * namespace or file behind.
 */

import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { meshSkipReason, REPO_ROOT, run } from "./helpers/mesh_lab.ts";

const DEMO = fileURLToPath(new URL("../demo/mesh_demo.ts", import.meta.url));
/** The permissions the demo's command line grants (README / deno.json must match). */
const DEMO_PERMISSIONS = ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"];

const skip = await meshSkipReason();

Deno.test({
  name:
    "mesh demo: builds a 3-node mesh (one node by org certificate), pings across it and by name, prints status, removes everything",
  ignore: skip !== null,
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...DEMO_PERMISSIONS, DEMO],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, `the demo failed:\n${stdout}\n${stderr}`);
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

    const tag = stdout.match(/bridge namespace mgm-([0-9a-f]+)-br/)?.[1];
    assertTrue(tag !== undefined, `the demo did not name its namespaces:\n${stdout}`);
    const namespaces = await run("ip", "netns", "list");
    assertTrue(!namespaces.includes(`mgm-${tag}-`), `namespaces left behind:\n${namespaces}`);
    const files = stdout.match(/control sockets in (\S+)/)?.[1];
    assertTrue(files !== undefined, "the demo did not name its directory");
    const left = await Deno.stat(files!).then(() => true, () => false);
    assertTrue(!left, `${files} left behind`);
  },
});
