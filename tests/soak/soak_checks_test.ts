/**
 * The soak's own judges, on made-up inputs (no namespaces): a removal nobody excused is reported,
 * an excuse covers only its observers, subjects, pairs and window, and the resource bounds catch
 * growth. If these could not fail, the 24-node run would pass whatever the daemons did.
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import type { DaemonStatus } from "../mesh/helpers/daemon_status.ts";
import type { MeshLab } from "../mesh/helpers/mesh_lab.ts";
import type { ProcessSample } from "./helpers/process_sampler.ts";
import { RemovalWatch } from "./helpers/removal_watch.ts";
import { boundViolations } from "./helpers/soak_report.ts";

/** Just what RemovalWatch reads of a lab: node indices, names and log paths. */
function fakeLab(directory: string, count: number): MeshLab {
  const nodes = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    name: `node${i + 1}`,
    logPath: join(directory, `node${i + 1}.log`),
  }));
  return { nodes } as unknown as MeshLab;
}

function logLine(at: number, message: string): string {
  return `${new Date(at).toISOString()} INFO ${message}\n`;
}

function statusListing(entries: [string, string][]): DaemonStatus {
  return {
    peers: entries.map(([name, state]) => ({ name, state })),
  } as unknown as DaemonStatus;
}

Deno.test("soak checks: an unexcused dead/left/tunnel removal in a log is a violation", async () => {
  const directory = await Deno.makeTempDir({ prefix: "meshguard-soak-checks-" });
  try {
    const lab = fakeLab(directory, 4);
    const watch = new RemovalWatch(lab);
    const now = Date.now();
    await Deno.writeTextFile(
      lab.nodes[0].logPath,
      logLine(now, "peer node2 (10.99.1.2) suspect") +
        logLine(now, "peer node2 (10.99.1.2) alive") +
        logLine(now, "peer node3 (10.99.1.3) dead") +
        logLine(now, "tunnel to node3 removed") +
        logLine(now, "peer node4 (10.99.1.4) left"),
    );
    await watch.scanLogs();
    const found = watch.violations().map((event) =>
      `${event.observer}>${event.subject} ${event.kind}`
    );
    assertEquals(found, ["1>3 dead", "1>3 tunnel removed", "1>4 left"]);
    assertEquals(watch.suspicions.length, 1, "a suspicion is counted, not a removal");
    // A second scan reads only what was appended.
    await Deno.writeTextFile(lab.nodes[0].logPath, logLine(now, "tunnel to node2 removed"), {
      append: true,
    });
    await watch.scanLogs();
    assertEquals(watch.violations().length, 4);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("soak checks: an excuse covers only its observers, subjects, pairs and window", async () => {
  const directory = await Deno.makeTempDir({ prefix: "meshguard-soak-checks-" });
  try {
    const lab = fakeLab(directory, 4);
    const watch = new RemovalWatch(lab);
    const close = watch.excuse("killed node3", "all", [3]);
    const side = (k: number) => k <= 2;
    const closePartition = watch.excuse("partition", "all", "all", (a, b) => side(a) !== side(b));
    const during = Date.now();
    await Deno.writeTextFile(
      lab.nodes[0].logPath,
      logLine(during, "peer node3 (10.99.1.3) dead") + // excused: killed
        logLine(during, "peer node4 (10.99.1.4) dead") + // excused: across the partition
        logLine(during, "peer node2 (10.99.1.2) dead"), // same side: a violation
    );
    close();
    closePartition();
    await Deno.writeTextFile(
      lab.nodes[1].logPath,
      logLine(Date.now() + 5_000, "peer node3 (10.99.1.3) dead"), // after the excuse closed
    );
    await watch.scanLogs();
    const found = watch.violations().map((event) => `${event.observer}>${event.subject}`);
    assertEquals(found, ["1>2", "2>3"]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("soak checks: statuses that list a reachable node dead, or drop it, are violations", () => {
  const watch = new RemovalWatch(fakeLab("/nonexistent", 3));
  watch.observeStatus(1, statusListing([["node2", "alive"], ["node3", "alive"]]));
  watch.observeStatus(1, statusListing([["node2", "dead"], ["node3", "alive"]]));
  watch.observeStatus(1, statusListing([["node2", "dead"]]));
  watch.observeStatus(1, statusListing([["node2", "dead"]])); // unchanged: no new event
  const found = watch.violations().map((event) => `${event.subject} ${event.kind}`);
  assertEquals(found, ["2 dead", "3 forgotten"]);
  // A restarted observer starts from an empty view: its first status forgets nothing.
  watch.resetObserver(1);
  watch.observeStatus(1, statusListing([]));
  assertEquals(watch.violations().length, 2);
});

Deno.test("soak checks: RSS and CPU growth past the bounds is reported", () => {
  const MiB = 1024 * 1024;
  const sample = (at: number, rssMiB: number, cpuSeconds: number): ProcessSample => ({
    pid: 7,
    at,
    rssBytes: rssMiB * MiB,
    cpuSeconds,
  });
  const flat = {
    node: 1,
    restarted: false,
    start: sample(0, 150, 10),
    firstMinuteEnd: sample(60_000, 151, 11), // 1/60 of a core
    lastMinuteStart: sample(300_000, 160, 20),
    end: sample(360_000, 170, 21.5), // 1.5/60: within 2× + 0.5/60
  };
  assertEquals(boundViolations([flat], 0), []);
  const leaking = { ...flat, node: 2, end: sample(360_000, 150 * 1.5 + 21, 21.5) };
  const spinning = { ...flat, node: 3, end: sample(360_000, 170, 23) }; // 3/60 > 2.5/60
  const problems = boundViolations([leaking, spinning], 0);
  assertEquals(problems.length, 2, problems.join("\n"));
  assertEquals(problems[0].startsWith("node2: RSS grew"), true, problems[0]);
  assertEquals(problems[1].startsWith("node3: CPU"), true, problems[1]);
  // A restarted node is held to the survivors' median first minute.
  const restarted = {
    node: 4,
    restarted: true,
    start: sample(200_000, 150, 5),
    lastMinuteStart: sample(300_000, 150, 6),
    end: sample(360_000, 150, 9), // 3/60 of a core
  };
  assertEquals(boundViolations([restarted], 1 / 60).length, 1);
  assertEquals(boundViolations([restarted], 2 / 60).length, 0);
  // Missing samples or a NaN median are problems, not passes.
  assertEquals(boundViolations([restarted], NaN).length, 1);
  assertEquals(boundViolations([{ ...flat, node: 5, end: undefined }], 0).length, 1);
});
