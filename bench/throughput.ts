/**
 * End-to-end throughput, meshguard against wireguard-go and Nebula in the same run (root): two
 * namespaces, iperf3 through (a) meshguard ↔ meshguard, (b) wireguard-go ↔ wireguard-go and
 * (c) Nebula ↔ Nebula (`nebula_lab.ts`: certificates made with nebula-cert, MTU 1420).
 * Prints `tcp-1: meshguard N Gbps, wireguard-go N Gbps, ratio N.NN, nebula N Gbps, ratio N.NN`
 * and the same for tcp-4 (-P 4) and udp-pps (received packets per second at 1,380-byte
 * datagrams), then the same lines for meshguard with one data worker (`workers-1 tcp-1: …`), so
 * the gain from the worker threads is measured in the same run, and for meshguard with
 * `--no-offload` (`no-offload tcp-1: …`: plain packets on the TUN, no UDP GSO, no coalescing).
 * Without `nebula` installed its columns are left out (apt install nebula).
 * Run: bench/throughput.sh [seconds per test, default 10]
 */

import {
  type DeviceKind,
  interopSkipReason,
  Lab,
  NamespaceProcess,
  run,
} from "../tests/interop/helpers/lab.ts";
import { NebulaLab, nebulaSkipReason } from "./nebula_lab.ts";

const seconds = Number(Deno.args[0] ?? 10);

interface Figures {
  tcp1: number;
  tcp4: number;
  udpPps: number;
}

/** What `measure` needs of a lab (the interop lab and the Nebula lab both fit). */
interface TwoSides {
  sides: { namespace: string; meshIpv4: string }[];
  ping(i: number, address: string, count?: number): Promise<string>;
  dispose(): Promise<void>;
}

async function iperf(lab: TwoSides, args: string[]): Promise<Record<string, unknown>> {
  const iperfServer = new NamespaceProcess(lab.sides[1].namespace, [
    "iperf3",
    "-s",
    "--forceflush",
    "-1",
    "-B",
    lab.sides[1].meshIpv4,
  ]);
  await iperfServer.waitFor(/Server listening/);
  try {
    const output = await run(
      "ip",
      "netns",
      "exec",
      lab.sides[0].namespace,
      "iperf3",
      "-c",
      lab.sides[1].meshIpv4,
      "-t",
      String(seconds),
      "-J",
      ...args,
    );
    return JSON.parse(output);
  } finally {
    await iperfServer.stop();
  }
}

async function measure(
  kind: DeviceKind | "nebula",
  workers?: number,
  noOffload = false,
): Promise<Figures> {
  const lab: TwoSides = kind === "nebula"
    ? await NebulaLab.create()
    : await Lab.create([kind, kind], { workers, noOffload });
  try {
    await lab.ping(0, lab.sides[1].meshIpv4, 1);
    // deno-lint-ignore no-explicit-any
    const tcp1: any = await iperf(lab, []);
    // deno-lint-ignore no-explicit-any
    const tcp4: any = await iperf(lab, ["-P", "4"]);
    // deno-lint-ignore no-explicit-any
    const udp: any = await iperf(lab, ["-u", "-b", "0", "-l", "1380"]);
    const sum = udp.end.sum;
    return {
      tcp1: tcp1.end.sum_received.bits_per_second / 1e9,
      tcp4: tcp4.end.sum_received.bits_per_second / 1e9,
      udpPps: (sum.packets - sum.lost_packets) / sum.seconds,
    };
  } finally {
    await lab.dispose();
  }
}

const skip = interopSkipReason();
if (skip) {
  console.log(skip.replace("interop suite", "throughput bench"));
  Deno.exit(0);
}
const ours = await measure("meshguard");
const theirs = await measure("wireguard-go");
const nebulaSkip = nebulaSkipReason();
if (nebulaSkip) console.log(`nebula columns left out: ${nebulaSkip}`);
const nebula = nebulaSkip ? null : await measure("nebula");
const single = await measure("meshguard", 1);
const plain = await measure("meshguard", undefined, true);
const line = (
  name: string,
  a: number,
  b: number,
  unit: string,
  digits: number,
  c?: number,
) =>
  console.log(
    `${name}: meshguard ${a.toFixed(digits)} ${unit}, wireguard-go ${
      b.toFixed(digits)
    } ${unit}, ratio ${(a / b).toFixed(2)}` +
      (c === undefined ? "" : `, nebula ${c.toFixed(digits)} ${unit}, ratio ${(a / c).toFixed(2)}`),
  );
line("tcp-1", ours.tcp1, theirs.tcp1, "Gbps", 3, nebula?.tcp1);
line("tcp-4", ours.tcp4, theirs.tcp4, "Gbps", 3, nebula?.tcp4);
line("udp-pps", ours.udpPps, theirs.udpPps, "pkt/s", 0, nebula?.udpPps);
line("workers-1 tcp-1", single.tcp1, theirs.tcp1, "Gbps", 3);
line("workers-1 tcp-4", single.tcp4, theirs.tcp4, "Gbps", 3);
line("workers-1 udp-pps", single.udpPps, theirs.udpPps, "pkt/s", 0);
line("no-offload tcp-1", plain.tcp1, theirs.tcp1, "Gbps", 3);
line("no-offload tcp-4", plain.tcp4, theirs.tcp4, "Gbps", 3);
line("no-offload udp-pps", plain.udpPps, theirs.udpPps, "pkt/s", 0);
