/**
 * The admission controller demo (root): `meshguard controller` in a namespace of its own and
 * three `meshguard up --controller` nodes whose behaviour scores come from files. Node 3's
 * score drops below the threshold: the controller denies it at the next rotation and nodes 1
 * and 2 remove its tunnels; its score recovers: it is re-admitted. Epochs are 5 s long here
 * (60 s by default). Everything it made is removed at the end, also on Ctrl-C or failure.
 *
 *   sudo deno task demo:controller
 */

import { join } from "node:path";
import { MeshLab, meshSkipReason, REPO_ROOT, tryRun } from "../mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../mesh/helpers/namespace_process.ts";
import {
  controllerNodeArgs,
  hasWireGuardPeer,
  setScore as setScoreOf,
  writeControllerNodes,
} from "../mesh/helpers/controller_lab.ts";

const EPOCH_SECONDS = 5;
const PORT = 8000;
const TIMEOUT_MS = 60_000;

const skip = await meshSkipReason();
if (skip) {
  console.error(`${skip.replace("mesh suite skipped: ", "the controller demo ")}`);
  console.error("run it as root: sudo deno task demo:controller");
  Deno.exit(1);
}

const started = performance.now();
function say(line: string): void {
  console.log(`${`+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(7)}  ${line}`);
}

// Nodes 1-3 run meshguard; node 4's namespace hosts the controller only.
const lab = new MeshLab({
  nodes: 4,
  trusts: (from, to) => from !== 4 && to !== 4,
  progress: (line) => say(line),
});
let controller: NamespaceProcess | null = null;
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    say("cleaning up: stopping the controller and the daemons, removing namespaces and files");
    await controller?.stop(5_000).catch(() => {});
    await lab.dispose();
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    console.log(`\n${signal}: stopping`);
    await cleanUp();
    Deno.exit(130);
  });
}

try {
  console.log("meshguard admission controller demo: a controller and three nodes\n");
  await lab.build();
  const host = lab.node(4);
  const url = `http://${host.underlay}:${PORT}`;
  const dir = lab.directory;
  const setScore = (k: number, overall: number) => setScoreOf(lab, k, overall, "demo");
  const nodesFile = await writeControllerNodes(lab, [1, 2, 3]);
  const curl = async (path: string) =>
    (await tryRun("ip", ["netns", "exec", host.namespace, "curl", "-s", `${url}${path}`])).stdout;
  const membership = async () => {
    const epoch = JSON.parse(await curl("/v1/epoch"));
    return `epoch ${epoch.epoch_id}: ` +
      Object.entries(epoch.nodes).map(([id, n]) =>
        `${id} ${(n as { membership: string }).membership} (${(n as { reason: string }).reason})`
      ).join("; ");
  };
  const hasPeer = (observer: number, peer: number) => hasWireGuardPeer(lab, observer, peer);

  console.log();
  for (const k of [1, 2, 3]) await setScore(k, k === 2 ? 0.85 : 0.9);
  const args = [
    "controller",
    "--nodes",
    nodesFile,
    "--db",
    join(dir, "controller.db"),
    "--listen",
    `${host.underlay}:${PORT}`,
    "--epoch-seconds",
    String(EPOCH_SECONDS),
    "--rate-limit",
    "600",
  ];
  controller = new NamespaceProcess(host.namespace, [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--no-prompt",
    join(REPO_ROOT, "main.ts"),
    ...args,
  ], { cwd: REPO_ROOT, logPath: join(dir, "controller.log") });
  await controller.waitForOutput(/listening on http/, 30_000);
  say(`controller up: meshguard ${args.join(" ")}`);
  say(`status page: ${url}/  (inside namespace ${host.namespace}; e.g.`);
  say(`  sudo ip netns exec ${host.namespace} curl ${url}/v1/status)`);
  for (const k of [1, 2, 3]) {
    await lab.start(k, {
      seeds: k === 1 ? [] : [1],
      extraArgs: controllerNodeArgs(lab, url, k, 1, 1),
    });
    if (k === 1) await lab.waitUntilServing(1);
    say(`node${k} up: meshguard up --controller ${url} --score-file score-${k}.json`);
  }
  const pairs = [[1, 2], [1, 3], [2, 3]];
  for (const [a, b] of pairs) await lab.waitForPing(a, lab.node(b).meshIpv4, TIMEOUT_MS);
  say("all three admitted: every pair pings, each link with its own pairwise PSK");
  say(await membership());

  console.log();
  await setScore(3, 0.3);
  say("node3's benchmark score drops to 0.30 (threshold 0.70)");
  const dropped = performance.now();
  await lab.waitFor(
    async () => !(await hasPeer(1, 3)) && !(await hasPeer(2, 3)),
    TIMEOUT_MS,
    "node 3 to be removed",
  );
  say(
    `quarantine: node1 and node2 removed node3's tunnels after ${
      ((performance.now() - dropped) / 1000).toFixed(1)
    } s`,
  );
  say(await membership());
  const blocked = await lab.ping(1, lab.node(3).meshIpv4);
  say(`ping node1 → node3: ${blocked ? "answered (unexpected)" : "no answer"}`);
  say(
    `ping node1 → node2: ${(await lab.ping(1, lab.node(2).meshIpv4)) ? "answered" : "no answer"}`,
  );

  console.log();
  await setScore(3, 0.9);
  say("node3's score recovers to 0.90");
  const recovered = performance.now();
  await lab.waitForPing(1, lab.node(3).meshIpv4, TIMEOUT_MS);
  say(
    `re-admission: node1 → node3 pings again after ${
      ((performance.now() - recovered) / 1000).toFixed(1)
    } s`,
  );
  say(await membership());
  const metrics = (await curl("/metrics")).split("\n").filter((line) =>
    line.startsWith("mesh_membership_changes_total")
  );
  console.log(
    `\n$ curl ${url}/metrics | grep mesh_membership_changes_total\n${metrics.join("\n")}\n`,
  );
} catch (error) {
  if (cleaning === null) {
    console.error(`\nthe demo failed: ${error instanceof Error ? error.message : error}`);
    console.error(`\ndaemon logs:\n${await lab.logTails(30)}`);
  }
  await cleanUp();
  Deno.exit(1);
}
await cleanUp();
say("demo finished; every namespace, daemon and temporary file is gone");
