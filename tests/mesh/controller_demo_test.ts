/**
 * The controller demo (`deno task demo:controller`) runs to the end with the permissions it
 * documents, shows the quarantine and the re-admission and the status page's address, and leaves
 * no namespace or file behind.
 */

import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { meshSkipReason, REPO_ROOT, run } from "./helpers/mesh_lab.ts";

const DEMO = fileURLToPath(new URL("../demo/controller_demo.ts", import.meta.url));
/** The permissions of `deno task demo:controller` (deno.json must match). */
const DEMO_PERMISSIONS = ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"];

const skip = await meshSkipReason();

Deno.test({
  name: "controller demo: three nodes, quarantine, re-admission, status page, clean exit",
  ignore: skip !== null,
  async fn() {
    const task = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks[
      "demo:controller"
    ];
    assertIncludes(task, DEMO_PERMISSIONS.join(" "));
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
    for (
      const line of [
        "status page: http://192.0.2.4:8000/",
        "all three admitted",
        "node3 DENIED (score 0.30 < threshold 0.70)",
        "ping node1 → node3: no answer",
        "ping node1 → node2: answered",
        "re-admission: node1 → node3 pings again",
        'mesh_membership_changes_total{node_id="node3",membership="DENIED"} 1',
        "demo finished",
      ]
    ) assertIncludes(stdout, line);
    assertTrue(/quarantine: node1 and node2 removed node3's tunnels after [\d.]+ s/.test(stdout));
    const tag = stdout.match(/bridge namespace mgm-([0-9a-f]+)-br/)?.[1];
    assertTrue(tag !== undefined, `the demo did not name its namespaces:\n${stdout}`);
    const namespaces = await run("ip", "netns", "list");
    assertTrue(!namespaces.includes(`mgm-${tag}-`), `namespaces left behind:\n${namespaces}`);
    const files = stdout.match(/control sockets in (\S+)/)?.[1];
    assertTrue(files !== undefined, "the demo did not name its directory");
    assertTrue(!(await Deno.stat(files!).then(() => true, () => false)), `${files} left behind`);
  },
});
