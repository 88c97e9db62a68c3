/**
 * The controller demo (`deno task demo:controller`) runs to the end with the permissions it
 * documents, shows the quarantine and the re-admission and the status page's address, and leaves
 * no namespace or file behind.
 */

import { fileURLToPath } from "node:url";
import { assertIncludes, assertTrue } from "../assert.ts";
import { meshSkipReason, REPO_ROOT } from "./helpers/mesh_lab.ts";
import { assertDemoCleanedUp, DEMO_PERMISSIONS, runDemo } from "./helpers/demo_run.ts";

const DEMO = fileURLToPath(new URL("../demo/controller_demo.ts", import.meta.url));

const skip = await meshSkipReason();

Deno.test({
  name: "controller demo: three nodes, quarantine, re-admission, status page, clean exit",
  ignore: skip !== null,
  async fn() {
    const task = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks[
      "demo:controller"
    ];
    assertIncludes(task, DEMO_PERMISSIONS.join(" "));
    const stdout = await runDemo(DEMO);
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
    await assertDemoCleanedUp(stdout);
  },
});
