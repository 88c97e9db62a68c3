/**
 * Idle memory and CPU of meshguard (root): (1) `meshguard device` in a namespace, RSS with no
 * peer, then given 100 peers through `wg set`, idle; (2) a mesh of `meshguard up` daemons in
 * namespaces (20 by default), formed, then idle. RSS is VmRSS (anonymous + the Deno binary's
 * resident text, which other Deno processes share); CPU is utime + stime over all threads
 * during the idle window, as a fraction of one core.
 *
 * Run: deno task bench:memory [--idle SECONDS (default 60)] [--peers N (default 100)]
 *        [--nodes N (default 20; 0 skips the mesh)] [--workers N (device; default: its own)]
 *        [--v8-flags=…] (the device's; default packaging/build.ts RUNTIME_FLAGS, `--v8-flags=`
 *        none) [--no-device] (the mesh only; its daemons get RUNTIME_FLAGS from the mesh lab)
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { MeshLab, meshSkipReason } from "../tests/mesh/helpers/mesh_lab.ts";
import { SoakRun } from "../tests/soak/helpers/soak_run.ts";
import { RUNTIME_FLAGS } from "../packaging/build.ts";
import { type Mapping, parseSmaps } from "../ffi/memory_release.ts";
import {
  cpuRate,
  formatSpread,
  mebibytes,
  type ProcessSample,
  sampleProcess,
} from "../tests/soak/helpers/process_sampler.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({
  args: Deno.args,
  options: {
    idle: { type: "string", default: "60" },
    peers: { type: "string", default: "100" },
    nodes: { type: "string", default: "20" },
    workers: { type: "string" },
    "v8-flags": { type: "string" },
    "no-device": { type: "boolean", default: false },
  },
});
const idleMs = Number(values.idle) * 1000;
const peers = Number(values.peers);
const nodes = Number(values.nodes);
// The flags meshguard is deployed with (systemd unit, deno task up, the mesh lab) unless given.
const v8Flags = values["v8-flags"] === undefined
  ? [...RUNTIME_FLAGS]
  : values["v8-flags"] === ""
  ? []
  : [`--v8-flags=${values["v8-flags"]}`];

async function run(command: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${text.decode(output.stderr)}`);
  }
  return text.decode(output.stdout);
}

/** Resolves after `ms`: the bench's deliberate idle window, never synchronisation. */
function idle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Anonymous and file-backed resident kilobytes of `pid` (through cat: /proc needs -A). */
async function rssParts(pid: number): Promise<{ anon: number; file: number }> {
  const status = await run("cat", `/proc/${pid}/status`);
  const field = (name: string) =>
    Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1]);
  return { anon: field("RssAnon") * 1024, file: field("RssFile") * 1024 };
}

/** Which part of the process a mapping is, by what each allocator's mappings look like. */
function kindOf(mapping: Mapping, executable: string): string {
  const size = mapping.end - mapping.start;
  if (mapping.path === executable) {
    return mapping.permissions[1] === "w" ? "deno data" : "deno text";
  }
  if (mapping.path === "[heap]") return "malloc";
  if (mapping.path.startsWith("/") || mapping.path.startsWith("[")) return "other files";
  // glibc's thread arenas are 64 MiB-aligned heaps; V8's heap pages are 256 KiB. The rest: V8's
  // code spaces, thread stacks, and the wasm memory (one mapping of the layout's size, ~5 MiB
  // for two workers, resident only where touched: 0.4 MiB after a burst of iperf3).
  if (mapping.start % (64 << 20) === 0 && mapping.permissions === "rw-p") return "malloc";
  if (size === 256 << 10) return "V8 heap";
  return "other anon";
}

/** Resident bytes of `pid` by kind (deno text, malloc, V8 heap, …). */
async function breakdown(pid: number): Promise<string> {
  const executable = (await run("readlink", `/proc/${pid}/exe`)).trim();
  const totals = new Map<string, number>();
  for (const mapping of parseSmaps(await run("cat", `/proc/${pid}/smaps`))) {
    const kind = kindOf(mapping, executable);
    totals.set(kind, (totals.get(kind) ?? 0) + mapping.residentBytes);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([kind, bytes]) =>
    `${kind} ${mebibytes(bytes)}`
  ).join(", ");
}

function describe(sample: ProcessSample, parts: { anon: number; file: number }): string {
  return `RSS ${mebibytes(sample.rssBytes)} (anon ${mebibytes(parts.anon)}, file ${
    mebibytes(parts.file)
  })`;
}

async function deviceBench(): Promise<void> {
  const tag = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  const namespace = `mgb-${tag}`;
  const ifname = `mgb${tag}`;
  const keyFile = await Deno.makeTempFile({ prefix: "meshguard-bench-" });
  await run("ip", "netns", "add", namespace);
  let child: Deno.ChildProcess | null = null;
  try {
    await run("ip", "-n", namespace, "link", "set", "lo", "up");
    child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        namespace,
        Deno.execPath(),
        "run",
        "--no-prompt",
        ...v8Flags,
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-ffi",
        "main.ts",
        "device",
        ifname,
        ...(values.workers ? ["--workers", values.workers] : []),
      ],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // `ip netns exec` execs the command: the child's pid is the device's.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    const deadline = AbortSignal.timeout(30_000);
    while (!/UAPI \S+/.test(log)) {
      if (deadline.aborted) throw new Error(`the device did not start:\n${log}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`the device exited:\n${log}`);
      log += value;
    }
    const workers = log.match(/(\d+) data workers?/)?.[1] ?? "?";
    reader.releaseLock();
    child.stderr.cancel().catch(() => {});
    await Deno.writeTextFile(keyFile, await run("wg", "genkey"));
    await run("ip", "netns", "exec", namespace, "wg", "set", ifname, "private-key", keyFile);
    // Both samples after the same idle time: V8 shrinks its heaps a while after start-up.
    await idle(idleMs);
    const empty = await sampleProcess(child.pid);
    const emptyParts = await rssParts(child.pid);
    const args = ["set", ifname, "listen-port", "51820"];
    for (let i = 0; i < peers; i++) {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
      const host = i + 1;
      args.push(
        "peer",
        key,
        "endpoint",
        `192.0.2.${(host % 250) + 1}:51820`,
        "allowed-ips",
        `10.99.${host >> 8}.${host & 255}/32,fd99:6d67::${host.toString(16)}/128`,
      );
    }
    await run("ip", "netns", "exec", namespace, "wg", ...args);
    const listed = (await run("ip", "netns", "exec", namespace, "wg", "show", ifname, "peers"))
      .trim().split("\n").filter((line) => line !== "").length;
    if (listed !== peers) throw new Error(`wg show lists ${listed} peers, not ${peers}`);
    const before = await sampleProcess(child.pid);
    await idle(idleMs);
    const after = await sampleProcess(child.pid);
    const afterParts = await rssParts(child.pid);
    console.log(
      `device (${workers} data worker${workers === "1" ? "" : "s"}), no peer: ${
        describe(empty, emptyParts)
      }`,
    );
    console.log(
      `device (${workers} data worker${workers === "1" ? "" : "s"}), ${peers} peers after ${
        idleMs / 1000
      } s idle: ${describe(after, afterParts)}, CPU ${
        (cpuRate(before, after) * 100).toFixed(2)
      } % of a core`,
    );
    console.log(`  resident by kind: ${await breakdown(child.pid)}`);
    console.log(
      `per peer: ${((after.rssBytes - empty.rssBytes) / peers / 1024).toFixed(1)} KiB ` +
        `(anon ${((afterParts.anon - emptyParts.anon) / peers / 1024).toFixed(1)} KiB; ` +
        `RSS moves by ~2 MiB between samples, so ±20 KiB at 100 peers: bench/peer_heap.ts ` +
        `has the exact heap figure)`,
    );
  } finally {
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([child.status, idle(5_000)]);
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }
    await run("ip", "netns", "del", namespace).catch(() => {});
    await Deno.remove(keyFile).catch(() => {});
  }
}

async function meshBench(): Promise<void> {
  const lab = new MeshLab({ nodes, trusts: () => false });
  const soak = new SoakRun(lab);
  try {
    await soak.build();
    const all = Array.from({ length: nodes }, (_, i) => i + 1);
    const started = performance.now();
    // In batches, as the soak does: many Deno start-ups at once would starve two cores.
    for (let i = 0; i < all.length; i += 3) {
      await soak.start(all.slice(i, i + 3));
      await soak.converge(started, `nodes 1–${Math.min(i + 3, nodes)} alive`);
    }
    const formed = ((performance.now() - started) / 1000).toFixed(0);
    await idle(Math.min(idleMs, 10_000));
    await soak.sampleAll("start");
    await idle(idleMs);
    await soak.sampleAll("end");
    const rows = [...soak.samples.values()];
    const rss = rows.map((row) => row.end!.rssBytes);
    const parts = await Promise.all(rows.map((row) => rssParts(row.end!.pid)));
    const smapsTo = Deno.env.get("MEMORY_BENCH_SMAPS");
    if (smapsTo) {
      await Deno.writeTextFile(smapsTo, await run("cat", `/proc/${rows[2].end!.pid}/smaps`));
      await Deno.copyFile(lab.node(3).logPath, `${smapsTo}.log`);
    }
    const cpu = rows.map((row) => cpuRate(row.start!, row.end!));
    console.log(
      `mesh of ${nodes} daemons (1 data worker each, formed in ${formed} s), after ${
        idleMs / 1000
      } s idle: RSS ${formatSpread(rss, mebibytes)}; CPU ${
        formatSpread(cpu, (rate) => `${(rate * 100).toFixed(2)} %`)
      } of a core`,
    );
    console.log(
      `  anon ${formatSpread(parts.map((part) => part.anon), mebibytes)}; file (Deno's text) ${
        formatSpread(parts.map((part) => part.file), mebibytes)
      }`,
    );
    console.log(
      `  RSS by node: ${
        rows.map((row) => `${row.node}:${mebibytes(row.end!.rssBytes)}`).join(" ")
      }`,
    );
  } finally {
    await lab.dispose();
  }
}

const skip = await meshSkipReason();
if (skip) {
  console.log(skip.replace("mesh suite", "memory bench"));
  Deno.exit(0);
}
const load = (await run("cat", "/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(`load average at start: ${load} (${navigator.hardwareConcurrency} CPUs)`);
console.log(
  `device V8 flags: ${v8Flags.join(" ") || "none"}; mesh daemons: ${RUNTIME_FLAGS.join(" ")}`,
);
if (!values["no-device"]) await deviceBench();
if (nodes > 0) await meshBench();
