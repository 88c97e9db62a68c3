/**
 * Admission control end to end (issue 15): `meshguard controller` in a namespace of its own
 * (node 4's, which runs no daemon) and three `meshguard up --controller` daemons whose scores
 * come from files the test rewrites. A 5 s epoch keeps it short. Measures how long node 3's
 * tunnels take to disappear after its score drops (bound: one epoch plus one poll, plus one
 * report interval for the low score to arrive), checks they come back on recovery, that the
 * allowed pair 1–2 keeps pinging across three rotations with at most one lost ping, that a
 * controller restart keeps the epoch sequence, and that the nodes fail closed once the
 * controller has been gone past their keys' expiry (and recover when it returns).
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { join } from "node:path";
import { withDeadline } from "./helpers/deadline.ts";
import { MeshLab, meshSkipReason, REPO_ROOT } from "./helpers/mesh_lab.ts";
import { NamespaceProcess } from "./helpers/namespace_process.ts";
import {
  controllerNodeArgs,
  hasWireGuardPeer,
  setScore as setScoreOf,
  writeControllerNodes,
} from "./helpers/controller_lab.ts";

const skip = await meshSkipReason();
if (skip) console.log(skip);

const EPOCH_SECONDS = 5;
const POLL_SECONDS = 1;
const REPORT_SECONDS = 1;
const CONTROLLER_PORT = 8000;
/** Quarantine bound: the low score arrives (a report), the rotation decides, the others poll;
 * 2.5 s of slack for a loaded 2-core CI machine. */
const QUARANTINE_BOUND_MS = (REPORT_SECONDS + EPOCH_SECONDS + POLL_SECONDS) * 1000 + 2500;

interface Status {
  epoch: { id: number };
  nodes: Record<string, { membership: string; reason?: string }>;
}

Deno.test({
  name: "controller: quarantine within an epoch and a poll, re-admission, pairwise keys " +
    "across rotations, restart keeps the epoch sequence, fail closed",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await MeshLab.create({ nodes: 4, trusts: (from, to) => from !== 4 && to !== 4 });
    const dir = lab.directory;
    const controllerHost = lab.node(4);
    const url = `http://${controllerHost.underlay}:${CONTROLLER_PORT}`;
    const statusFile = join(dir, "controller-status.json");
    const logPath = join(dir, "controller.log");
    const setScore = (k: number, overall: number) => setScoreOf(lab, k, overall, "e2e");
    const nodesFile = await writeControllerNodes(lab, [1, 2, 3]);
    let controller: NamespaceProcess | null = null;
    const startController = () => {
      controller = new NamespaceProcess(controllerHost.namespace, [
        Deno.execPath(),
        "run",
        "--allow-all",
        "--no-prompt",
        join(REPO_ROOT, "main.ts"),
        "controller",
        "--nodes",
        nodesFile,
        "--db",
        join(dir, "controller.db"),
        "--status-file",
        statusFile,
        "--listen",
        `${controllerHost.underlay}:${CONTROLLER_PORT}`,
        "--epoch-seconds",
        String(EPOCH_SECONDS),
        "--rate-limit",
        "600",
      ], { cwd: REPO_ROOT, logPath });
      return controller.waitForOutput(/listening on http/, 30_000);
    };
    const readStatus = async (): Promise<Status> => JSON.parse(await Deno.readTextFile(statusFile));
    const hasPeer = (observer: number, peer: number) => hasWireGuardPeer(lab, observer, peer);
    const dumpLogs = async () => {
      const text = await Deno.readTextFile(logPath).catch(() => "");
      console.error(
        `controller log:\n${text.split("\n").slice(-40).join("\n")}\n${await lab.logTails()}`,
      );
    };
    try {
      await withDeadline(
        (async () => {
          for (const k of [1, 2, 3]) await setScore(k, 0.9);
          await startController();
          const up = (k: number) =>
            lab.start(k, {
              seeds: k === 1 ? [] : [1],
              extraArgs: controllerNodeArgs(lab, url, k, REPORT_SECONDS, POLL_SECONDS),
            });
          await up(1);
          await lab.waitUntilServing(1);
          await up(2);
          await up(3);
          const started = performance.now();
          for (const [from, to] of [[1, 2], [1, 3], [2, 3], [3, 1]]) {
            await lab.waitForPing(from, lab.node(to).meshIpv4, 60_000);
          }
          console.log(
            `  mesh formed through the controller in ${
              ((performance.now() - started) / 1000).toFixed(1)
            } s`,
          );
          // Pairwise keys: both ends of every link hold the same PSK, and links differ.
          const psk = async (observer: number, peer: number) =>
            (await lab.wireGuardPeers(observer)).find((p) =>
              p.publicKey === lab.node(peer).wireguardPublicKey
            )!.presharedKey;
          const keys = new Set<string>();
          for (const [a, b] of [[1, 2], [1, 3], [2, 3]]) {
            const [ab, ba] = [await psk(a, b), await psk(b, a)];
            // Both ends switch at the same boundary; read again if a rotation fell in between.
            const [ab2, ba2] = ab === ba ? [ab, ba] : [await psk(a, b), await psk(b, a)];
            assertEquals(ab2, ba2, `node${a} and node${b} hold different PSKs`);
            assertTrue(ab2 !== "(none)", `no PSK between node${a} and node${b}`);
            keys.add(ab2);
          }
          assertEquals(keys.size, 3, "each pair has its own PSK");

          // Node 1 pings node 2 through the whole quarantine and recovery of node 3.
          const epochBefore = (await readStatus()).epoch.id;
          const pinger = new NamespaceProcess(lab.node(1).namespace, [
            "ping",
            "-n",
            "-i",
            "0.2",
            "-w",
            String(4 * EPOCH_SECONDS + 2),
            lab.node(2).meshIpv4,
          ], { cwd: REPO_ROOT });

          await setScore(3, 0.3);
          const dropped = performance.now();
          await lab.waitFor(
            async () => !(await hasPeer(1, 3)) && !(await hasPeer(2, 3)),
            QUARANTINE_BOUND_MS + 5_000,
            "node 3's tunnels to be removed on nodes 1 and 2",
          );
          const quarantineMs = performance.now() - dropped;
          console.log(
            `  quarantine: node 3 removed on nodes 1 and 2 after ${
              (quarantineMs / 1000).toFixed(1)
            } s (bound ${QUARANTINE_BOUND_MS / 1000} s)`,
          );
          assertTrue(quarantineMs <= QUARANTINE_BOUND_MS, `quarantine took ${quarantineMs} ms`);
          const denied = (await readStatus()).nodes["node3"];
          assertEquals(denied.membership, "DENIED");
          assertEquals(denied.reason, "score 0.30 < threshold 0.70");
          assertTrue(!(await lab.ping(1, lab.node(3).meshIpv4)), "node 3 still reachable");
          // `status` says so: node 1 holds node 3 off its device, node 3 knows it is denied.
          const held = await lab.waitFor(
            async () => {
              const controller = (await lab.status(1)).controller;
              return controller?.gated.includes("node3") ? controller : null;
            },
            5_000,
            "node 1's status to list node 3 as held off the device",
          );
          assertEquals([held.url, held.node_id, held.reachable, held.denied], [
            url,
            "node1",
            true,
            null,
          ]);
          assertTrue(typeof held.epoch === "number" && held.last_poll !== null, "no epoch/poll");
          const self = await lab.waitFor(
            async () => (await lab.status(3)).controller?.denied ?? null,
            5_000,
            "node 3's status to say it is denied",
          );
          assertTrue(self.includes("score 0.30"), self);

          await setScore(3, 0.9);
          const recovered = performance.now();
          await lab.waitFor(
            async () => (await hasPeer(1, 3)) && (await hasPeer(2, 3)),
            QUARANTINE_BOUND_MS + 5_000,
            "node 3 to be re-added on nodes 1 and 2",
          );
          await lab.waitForPing(1, lab.node(3).meshIpv4, 15_000);
          console.log(
            `  re-admission: node 3 back and pinging after ${
              ((performance.now() - recovered) / 1000).toFixed(1)
            } s`,
          );

          const result = await pinger.waitForExit(4 * EPOCH_SECONDS * 1000 + 15_000);
          assertTrue(result !== null, "ping did not finish");
          const epochAfter = (await readStatus()).epoch.id;
          const match = pinger.output.match(/(\d+) packets transmitted, (\d+) received/);
          assertTrue(match !== null, `ping output: ${pinger.output}`);
          const [sent, received] = [Number(match![1]), Number(match![2])];
          console.log(
            `  allowed pair 1→2: ${
              sent - received
            } of ${sent} pings lost across epochs ${epochBefore}..${epochAfter}`,
          );
          assertTrue(epochAfter - epochBefore >= 3, `only ${epochAfter - epochBefore} rotations`);
          assertTrue(sent - received <= 1, `${sent - received} pings lost`);

          // A restart keeps the epoch sequence (SQLite), and the mesh keeps working.
          const beforeRestart = (await readStatus()).epoch.id;
          await controller!.stop(10_000);
          await startController();
          const afterRestart = (await readStatus()).epoch.id;
          console.log(`  controller restart: epoch ${beforeRestart} -> ${afterRestart}`);
          assertTrue(
            afterRestart >= beforeRestart && afterRestart <= beforeRestart + 2,
            `epoch went from ${beforeRestart} to ${afterRestart} across a restart`,
          );
          await lab.waitForPing(2, lab.node(3).meshIpv4, 15_000);

          // Controller gone: the nodes keep their keys until they expire (at most the current
          // epoch plus the next one, already served), then fail closed: every gated peer removed.
          await controller!.stop(10_000);
          const gone = performance.now();
          await lab.waitFor(
            async () => (await lab.wireGuardPeers(1)).length === 0,
            2 * EPOCH_SECONDS * 1000 + 5_000,
            "node 1 to remove its peers once the controller's keys expired",
          );
          console.log(
            `  controller down: node 1 failed closed after ${
              ((performance.now() - gone) / 1000).toFixed(1)
            } s`,
          );
          await startController();
          await lab.waitForPing(1, lab.node(2).meshIpv4, 20_000);
          console.log(
            `  controller back: node1 → node2 pings again after ${
              ((performance.now() - gone) / 1000).toFixed(1)
            } s in all`,
          );
        })(),
        150_000,
        "controller end to end",
      );
    } catch (error) {
      await dumpLogs();
      throw error;
    } finally {
      if (controller !== null) await (controller as NamespaceProcess).stop(5_000).catch(() => {});
      await lab.dispose();
    }
  },
});
