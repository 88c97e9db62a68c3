/**
 * Forged-SWIM flood against a `meshguard up` node (issue 11, finding 9). Three namespaces on a
 * bridge: node1 (the victim) and node2 trust each other; node3, trusted by nobody, is the
 * attacker. It learns node1's boot epoch from node1's own datagrams (mirrored to it with
 * nftables, as an on-path observer sees them) and sends forged SWIM datagrams claiming node2's
 * key at `--rate` per second: well-formed headers with node1's epoch and junk ciphertext, so
 * each reaches the AEAD in membership unless the data worker holds it back.
 *
 * Measured before and during the flood: how long node1 takes to answer `status` on its control
 * socket, the ping round trip node2 → node1 through the tunnel, and how long node2 takes from a
 * restart (new epoch, so a fresh SWIM join through node1 and a fresh WireGuard handshake) to its
 * first answered ping; during the flood also node1's CPU use and, from its log at stop, what its
 * workers dropped.
 *
 * Run (root): deno task bench:swim-flood [--rate 100000] [--seconds 60] [--logs] [--untrusted]
 * (`--logs`: print the tails of the daemons' logs at the end; `--untrusted`: claim the attacker's
 * own key, which membership rejects before any cryptography, for comparison)
 */

import { sendControlRequest } from "../lib/control/control_client.ts";
import { MeshLab, REPO_ROOT, run } from "../tests/mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../tests/mesh/helpers/namespace_process.ts";

const SENDER = new URL("./swim_flood_sender.ts", import.meta.url).pathname;
const LISTEN_PORT = 40000;

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(Deno.args[at + 1]) : fallback;
  if (!(value > 0)) throw new Error(`--${name} needs a positive number`);
  return value;
}

const rate = option("rate", 100_000);
const seconds = option("seconds", 60);
/** `--untrusted`: the forgeries claim the attacker's own key instead (membership's cheap case). */
const claimUntrusted = Deno.args.includes("--untrusted");

/** Longest wait for one `status` answer; a request that takes longer counts as lost. */
const STATUS_TIMEOUT_MS = 5_000;

/**
 * Milliseconds node `k`'s daemon takes to answer `status` on its control socket, `count` times;
 * NaN for one it did not answer within STATUS_TIMEOUT_MS.
 */
async function statusLatencies(lab: MeshLab, k: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    try {
      const answer = await sendControlRequest(
        lab.node(k).controlPath,
        { command: "status" },
        STATUS_TIMEOUT_MS,
      );
      times.push(answer.ok ? performance.now() - started : NaN);
    } catch {
      times.push(NaN);
    }
  }
  return times;
}

/** Round trips (ms) of `count` pings from node `from` to `address`; NaN for a lost one. */
async function pingTimes(lab: MeshLab, from: number, address: string, count: number) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const result = await lab.pingOnce(from, address);
    const match = result.stdout.match(/time=([\d.]+) ms/);
    times.push(result.code === 0 && match ? Number(match[1]) : NaN);
  }
  return times;
}

/** A restart of node 2: ms until its daemon served `status`, and until its first ping. */
interface Rejoin {
  serving: number;
  ping: number;
}

/**
 * Restarts node 2 (seeded by node 1): the time its own start takes (CPU-bound, slowed by whatever
 * else the machine runs) and the time until its first answered ping to node 1 (NaN when none
 * was answered within `timeoutMs`), which adds the SWIM join through node 1 and the handshake.
 */
async function rejoinTime(lab: MeshLab, timeoutMs = 60_000): Promise<Rejoin> {
  await lab.stop(2);
  const started = performance.now();
  await lab.start(2, { seeds: [1] });
  await lab.waitUntilServing(2, timeoutMs);
  const serving = performance.now() - started;
  try {
    await lab.waitForPing(2, lab.node(1).meshIpv4, Math.max(1_000, timeoutMs - serving));
  } catch {
    return { serving, ping: NaN };
  }
  return { serving, ping: performance.now() - started };
}

function rejoinText(rejoin: Rejoin): string {
  const ping = Number.isNaN(rejoin.ping)
    ? "no answer while the flood lasted"
    : `${(rejoin.ping / 1000).toFixed(1)} s`;
  return `${ping} (its daemon served status after ${(rejoin.serving / 1000).toFixed(1)} s)`;
}

/**
 * Datagrams the kernel dropped in `namespace` because a UDP socket's receive queue was full
 * (/proc/net/snmp Udp RcvbufErrors): what a flood costs before any of our code runs.
 */
async function receiveBufferDrops(namespace: string): Promise<number> {
  const snmp = await run("ip", "netns", "exec", namespace, "cat", "/proc/net/snmp");
  const [names, values] = snmp.split("\n").filter((line) => line.startsWith("Udp: "))
    .map((line) => line.split(/\s+/));
  return Number(values[names.indexOf("RcvbufErrors")]);
}

/** CPU seconds (user + system) process `pid` has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await run("cat", `/proc/${pid}/stat`); // /proc reads need --allow-all in Deno
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ ticks
}

function summary(times: number[]): string {
  const ok = times.filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  if (times.length === 0) return "not measured";
  if (ok.length === 0) return `all ${times.length} lost`;
  const at = (q: number) => ok[Math.min(ok.length - 1, Math.floor(q * ok.length))].toFixed(1);
  const lost = times.length - ok.length;
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${ok.at(-1)!.toFixed(1)} ms` +
    (lost > 0 ? `, ${lost}/${times.length} lost` : "");
}

if (Deno.uid() !== 0) {
  console.log("swim flood bench skipped: needs root (network namespaces)");
  Deno.exit(0);
}

const lab = new MeshLab({ nodes: 3, trusts: (from, to) => from !== 3 && to !== 3 });
let sender: NamespaceProcess | null = null;
const cleanup = async () => {
  await sender?.stop(2_000);
  await lab.dispose();
};
Deno.addSignalListener("SIGINT", async () => {
  await cleanup();
  Deno.exit(130);
});

try {
  await lab.build();
  const victim = lab.node(1);
  await lab.start(1);
  await lab.waitUntilServing(1);
  await lab.start(2, { seeds: [1] });
  await lab.waitUntilServing(2);
  await lab.waitForPing(2, victim.meshIpv4, 60_000);
  console.log(`mesh up: node1 ${victim.meshIpv4}, node2 ${lab.node(2).meshIpv4}`);

  const before = {
    status: await statusLatencies(lab, 1, 20),
    ping: await pingTimes(lab, 2, victim.meshIpv4, 5),
    rejoin: await rejoinTime(lab),
  };
  console.log(`no flood: status ${summary(before.status)}`);
  console.log(`no flood: ping node2 → node1 ${summary(before.ping)}`);
  console.log(`no flood: node2 restart → first ping ${rejoinText(before.rejoin)}`);

  // The attacker sees node1's datagrams to node2: a copy goes to node3, which takes it in.
  await run(
    "ip",
    "netns",
    "exec",
    victim.namespace,
    "nft",
    `add table ip mgbench; add chain ip mgbench out { type filter hook output priority 0; }; ` +
      `add rule ip mgbench out ip daddr ${lab.node(2).underlay} udp sport 51821 dup to ${
        lab.node(3).underlay
      }`,
  );
  await run(
    "ip",
    "netns",
    "exec",
    lab.node(3).namespace,
    "nft",
    `add table ip mgbench; add chain ip mgbench pre { type nat hook prerouting priority -100; }; ` +
      `add rule ip mgbench pre ip daddr ${lab.node(2).underlay} udp sport 51821 dnat to ${
        lab.node(3).underlay
      }:${LISTEN_PORT}`,
  );
  sender = new NamespaceProcess(lab.node(3).namespace, [
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-ffi",
    "--allow-read",
    SENDER,
    victim.underlay,
    "51821",
    String(LISTEN_PORT),
    lab.node(claimUntrusted ? 3 : 2).publicKey,
    String(rate),
    String(seconds),
  ], { cwd: REPO_ROOT });
  const epoch = await sender.waitForOutput(/^epoch \d+$/m, 40_000);
  await sender.waitForOutput(/^flooding$/m, 10_000);
  console.log(`attacker learned ${epoch}; flooding at ${rate}/s for ${seconds} s`);
  const pid = victim.daemon!.pid;
  const cpuStart = await cpuSeconds(pid);
  const kernelDropsStart = await receiveBufferDrops(victim.namespace);
  const clockStart = performance.now();
  let flooding = true;
  const finished = sender.waitForOutput(/^sent \d+ in [\d.]+ s$/m, (seconds + 60) * 1000)
    .finally(() => flooding = false);
  finished.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  // Status is asked every 200 ms for as long as the flood lasts; meanwhile, after 5 s of it,
  // node2 pings and then restarts.
  const statusDuring = (async () => {
    const times: number[] = [];
    while (flooding) {
      times.push(...await statusLatencies(lab, 1, 1));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the sampling interval
    }
    return times;
  })();
  // CPU is read the moment the attacker reports the end of the flood.
  const atEnd = finished.then(async () => ({ cpu: await cpuSeconds(pid), at: performance.now() }));
  atEnd.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 5_000)); // into the flood
  // Bounded so that the restart is measured while the flood lasts.
  const rejoinDuring = await rejoinTime(lab, Math.max(5_000, (seconds - 10) * 1000));
  const pingDuring = flooding ? await pingTimes(lab, 2, victim.meshIpv4, 10) : [];
  const pingInFlood = flooding;
  const sent = await finished;
  const end = await atEnd;
  const kernelDrops = await receiveBufferDrops(victim.namespace) - kernelDropsStart;
  const cpuUsed = end.cpu - cpuStart;
  const wall = (end.at - clockStart) / 1000;
  const during = { status: await statusDuring, ping: pingDuring, rejoin: rejoinDuring };
  if (!pingInFlood) console.log("flood: ended before the pings finished (use a longer --seconds)");
  console.log(`flood: status ${summary(during.status)}`);
  console.log(`flood: ping node2 → node1 ${summary(during.ping)}`);
  console.log(`flood: node2 restart → first ping ${rejoinText(during.rejoin)}`);
  console.log(
    `flood: node1 used ${(100 * cpuUsed / wall).toFixed(0)}% of a core over ${
      wall.toFixed(1)
    } s of flood`,
  );
  console.log(`flood: node1's kernel dropped ${kernelDrops} datagrams on full socket queues`);
  const [, count, took] = sent.match(/^sent (\d+) in ([\d.]+) s$/)!;
  console.log(
    `attacker: ${count} datagrams in ${took} s (${
      Math.round(Number(count) / Number(took))
    }/s achieved)`,
  );
  const unanswered = during.status.filter((t) => Number.isNaN(t)).length;
  if (Number.isNaN(during.rejoin.ping) || unanswered > 0) {
    console.log(
      `verdict: node1 does not serve under the flood (${unanswered} of ${during.status.length} status requests unanswered within ${
        STATUS_TIMEOUT_MS / 1000
      } s)`,
    );
  } else console.log("verdict: node1 serves status and node2 under the flood");
  if (Deno.args.includes("--logs")) console.log(await lab.logTails(200));
  await lab.stop(1);
  const log = await Deno.readTextFile(victim.logPath);
  const drops = log.match(/SWIM datagrams dropped before membership:[^\n]*/);
  console.log(`node1 at stop: ${drops ? drops[0] : "(no SWIM drop counters in its log)"}`);
} finally {
  await cleanup();
}
