/**
 * End-to-end throughput, meshguard against wireguard-go and Nebula in the same run (root): two
 * namespaces, iperf3 through (a) meshguard ↔ meshguard, (b) wireguard-go ↔ wireguard-go and
 * (c) Nebula ↔ Nebula (`nebula_lab.ts`: certificates made with nebula-cert, MTU 1420).
 * Prints `tcp-1: meshguard N Gbps, wireguard-go N Gbps, ratio N.NN, nebula N Gbps, ratio N.NN`
 * and the same for tcp-4 (-P 4) and udp-pps: datagrams per second of a 1,380-byte UDP flood
 * delivered by the receiving device to its TUN (`udp_flood.ts`, counted from the TUN's kernel
 * counters, so the receiving iperf3's share of the CPU does not decide it), with a `udp detail`
 * line per implementation: offered by the sending iperf3, taken by the sending device, delivered,
 * read by the receiving iperf3, the losses, and the load average. Then the same lines for
 * meshguard with one data worker (`workers-1 tcp-1: …`), so the gain from the worker threads is
 * measured in the same run, and for meshguard with `--no-offload` (`no-offload tcp-1: …`: plain
 * packets on the TUN, no UDP GSO, no coalescing).
 * Without `nebula` installed its columns are left out (apt install nebula).
 * Run: bench/throughput.sh [seconds per test, default 10] [--udp-only] [--pin SENDER,RECEIVER]
 * (--pin: the UDP flood's sending and receiving iperf3 run under `taskset -c` on those CPUs).
 */

import {
  type DeviceKind,
  interopSkipReason,
  Lab,
  NamespaceProcess,
  run,
} from "../tests/interop/helpers/lab.ts";
import { NebulaLab, nebulaSkipReason } from "./nebula_lab.ts";
import {
  type FloodFigures,
  type FloodPinning,
  loadAverage,
  udpFlood,
} from "../tests/interop/helpers/udp_flood.ts";

const usage = "usage: bench/throughput.sh [seconds] [--udp-only] [--pin SENDER_CPU,RECEIVER_CPU]";
let seconds = 10;
let udpOnly = false;
let pin: FloodPinning | undefined;
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i];
  if (arg === "--udp-only") udpOnly = true;
  else if (arg === "--pin") {
    const cpus = (Deno.args[++i] ?? "").split(",").map(Number);
    if (cpus.length !== 2 || !cpus.every((cpu) => Number.isInteger(cpu) && cpu >= 0)) {
      console.error(`--pin wants two CPU numbers, e.g. --pin 0,1; ${usage}`);
      Deno.exit(2);
    }
    pin = { sender: cpus[0], receiver: cpus[1] };
  } else if (/^[0-9]+$/.test(arg) && Number(arg) > 0) seconds = Number(arg);
  else {
    console.error(`unknown argument ${arg}; ${usage}`);
    Deno.exit(2);
  }
}

interface Figures {
  tcp1: number;
  tcp4: number;
  udpPps: number;
  udp: FloodFigures;
  /** 1-minute load average after the TCP tests. */
  tcpLoad: number;
}

/** What `measure` needs of a lab (the interop lab and the Nebula lab both fit). */
interface TwoSides {
  sides: { namespace: string; meshIpv4: string; interfaceName: string; process: { pid: number } }[];
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
    const tcp1: any = udpOnly ? null : await iperf(lab, []);
    // deno-lint-ignore no-explicit-any
    const tcp4: any = udpOnly ? null : await iperf(lab, ["-P", "4"]);
    const tcpLoad = loadAverage();
    const udp = await udpFlood(lab.sides, seconds, pin);
    return {
      tcp1: udpOnly ? NaN : tcp1.end.sum_received.bits_per_second / 1e9,
      tcp4: udpOnly ? NaN : tcp4.end.sum_received.bits_per_second / 1e9,
      udpPps: udp.deliveredPps,
      udp,
      tcpLoad,
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
const detail = (name: string, udp: FloodFigures) =>
  console.log(
    `udp detail ${name}: offered ${udp.offeredPps.toFixed(0)}, taken ${
      udp.takenPps.toFixed(0)
    }, delivered ${udp.deliveredPps.toFixed(0)}, iperf3 read ${udp.appPps.toFixed(0)} pkt/s; ` +
      `loss ${(udp.loss * 100).toFixed(1)}% (between the devices ${
        (udp.tunnelLoss * 100).toFixed(1)
      }%), ${udp.perWrite.toFixed(1)} per TUN write, ${
        udp.deviceMicros.toFixed(1)
      } µs of device CPU per datagram, sender TUN dropped ${
        udp.senderDroppedPps.toFixed(0)
      }/s; load ${udp.load}`,
  );
if (!udpOnly) {
  console.log(
    `load average after the TCP tests: meshguard ${ours.tcpLoad}, wireguard-go ${theirs.tcpLoad}` +
      (nebula ? `, nebula ${nebula.tcpLoad}` : "") +
      `, workers-1 ${single.tcpLoad}, no-offload ${plain.tcpLoad}` +
      (pin
        ? `; UDP flood iperf3 pinned: sender CPU ${pin.sender}, receiver CPU ${pin.receiver}`
        : ""),
  );
  line("tcp-1", ours.tcp1, theirs.tcp1, "Gbps", 3, nebula?.tcp1);
  line("tcp-4", ours.tcp4, theirs.tcp4, "Gbps", 3, nebula?.tcp4);
}
line("udp-pps", ours.udpPps, theirs.udpPps, "pkt/s", 0, nebula?.udpPps);
if (!udpOnly) {
  line("workers-1 tcp-1", single.tcp1, theirs.tcp1, "Gbps", 3);
  line("workers-1 tcp-4", single.tcp4, theirs.tcp4, "Gbps", 3);
}
line("workers-1 udp-pps", single.udpPps, theirs.udpPps, "pkt/s", 0);
if (!udpOnly) {
  line("no-offload tcp-1", plain.tcp1, theirs.tcp1, "Gbps", 3);
  line("no-offload tcp-4", plain.tcp4, theirs.tcp4, "Gbps", 3);
}
line("no-offload udp-pps", plain.udpPps, theirs.udpPps, "pkt/s", 0);
line(
  "udp-pps as read by iperf3",
  ours.udp.appPps,
  theirs.udp.appPps,
  "pkt/s",
  0,
  nebula?.udp.appPps,
);
// Datagrams per CPU-second of both devices: what the tunnel costs, whoever else wants the CPU.
const perCpu = (udp: FloodFigures) => udp.deviceMicros > 0 ? 1e6 / udp.deviceMicros : 0;
line(
  "udp per device CPU-second",
  perCpu(ours.udp),
  perCpu(theirs.udp),
  "pkt",
  0,
  nebula ? perCpu(nebula.udp) : undefined,
);
detail("meshguard", ours.udp);
detail("wireguard-go", theirs.udp);
if (nebula) detail("nebula", nebula.udp);
detail("meshguard workers-1", single.udp);
detail("meshguard no-offload", plain.udp);
