/**
 * A UDP flood (the throughput bench's udp-pps, and the offload interop test's), counted where each implementation hands packets over rather
 * than by the receiving iperf3 alone (which on two shared cores is starved of CPU and drops in
 * its socket buffer whatever the tunnel delivered): iperf3 `-u -b 0 -l 1380` from side 0 to side
 * 1, with the TUN interfaces' kernel counters read before and after.
 * - offered: datagrams the sending iperf3 pushed into its stack (its own count);
 * - taken: datagrams the sender's device read from its TUN (the TUN's tx counters);
 * - delivered: datagrams the receiver's device wrote to its TUN (the TUN's rx counters);
 * - app: datagrams the receiving iperf3 read (iperf3's figure of old).
 * A TUN counts one write or read per packet, and a UDP super-packet (USO) as one, so datagrams
 * are counted from bytes: n writes carrying N datagrams of `FLOOD_PAYLOAD` bytes are
 * 28·n + FLOOD_PAYLOAD·N bytes (one IPv4 and UDP header per write), whatever the coalescing.
 * The iperf3 control connection's few packets add well under one datagram's worth.
 */

import { NamespaceProcess, run } from "./lab.ts";

/** Bytes of UDP payload per flood datagram (fits MTU 1420 with the IPv4 and UDP headers). */
export const FLOOD_PAYLOAD = 1380;
/** IPv4 (20) and UDP (8) header bytes in front of every payload on the TUN. */
const HEADER_BYTES = 28;
/** /proc's unit of CPU time (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** What the flood needs of one side of a lab. */
export interface FloodSide {
  namespace: string;
  meshIpv4: string;
  /** The TUN interface of that side's device. */
  interfaceName: string;
  /** That side's device process (its CPU time is read from /proc). */
  process: { pid: number };
}

/** CPUs to pin the sending and the receiving iperf3 to (taskset -c), or none. */
export interface FloodPinning {
  sender: number;
  receiver: number;
}

/** One flood's counts, each per second of the sender's run. */
export interface FloodFigures {
  seconds: number;
  offeredPps: number;
  takenPps: number;
  deliveredPps: number;
  appPps: number;
  /** Packets the sender's TUN queue dropped (its device did not read them in time), per second. */
  senderDroppedPps: number;
  /** Datagrams per TUN write at the receiver (above 1: the device coalesced them, USO). */
  perWrite: number;
  /** CPU time both devices used per delivered datagram (µs): what the flood costs them. */
  deviceMicros: number;
  /** Datagrams the receiving iperf3 saw out of order. */
  outOfOrder: number;
  /** 1 − delivered/offered. */
  loss: number;
  /** 1 − delivered/taken: lost between the devices. */
  tunnelLoss: number;
  /** /proc/loadavg's 1-minute figure, after the flood. */
  load: number;
}

interface LinkCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

async function linkCounters(namespace: string, device: string): Promise<LinkCounters> {
  const [link] = JSON.parse(await run("ip", "-j", "-s", "-n", namespace, "link", "show", device));
  const stats = link.stats64;
  return {
    rxPackets: stats.rx.packets,
    rxBytes: stats.rx.bytes,
    txPackets: stats.tx.packets,
    txBytes: stats.tx.bytes,
    txDropped: stats.tx.dropped,
  };
}

/** User and system CPU seconds `pid` has used so far, all its threads. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await run("cat", `/proc/${pid}/stat`);
  // The fields after the command name (which may hold spaces) in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Datagrams of FLOOD_PAYLOAD bytes in `packets` TUN packets of `bytes` in all. */
function datagrams(bytes: number, packets: number): number {
  return Math.max(0, Math.round((bytes - HEADER_BYTES * packets) / FLOOD_PAYLOAD));
}

/** The 1-minute load average (NaN without --allow-sys=loadavg). */
export function loadAverage(): number {
  try {
    return Deno.loadavg()[0];
  } catch {
    return NaN; // --allow-sys=loadavg not granted (the tests do not need it)
  }
}

function pinned(cpu: number | undefined, command: string[]): string[] {
  return cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
}

/** Floods from `sides[0]` to `sides[1]` for `seconds` and counts at every hand-over. */
export async function udpFlood(
  sides: readonly FloodSide[],
  seconds: number,
  pin?: FloodPinning,
): Promise<FloodFigures> {
  const [sender, receiver] = sides;
  const server = new NamespaceProcess(
    receiver.namespace,
    pinned(pin?.receiver, ["iperf3", "-s", "--forceflush", "-1", "-B", receiver.meshIpv4]),
  );
  await server.waitFor(/Server listening/);
  try {
    const cpuBefore = await cpuSeconds(sender.process.pid) + await cpuSeconds(receiver.process.pid);
    const sentBefore = await linkCounters(sender.namespace, sender.interfaceName);
    const receivedBefore = await linkCounters(receiver.namespace, receiver.interfaceName);
    const output = await run(
      "ip",
      "netns",
      "exec",
      sender.namespace,
      ...pinned(pin?.sender, [
        "iperf3",
        "-c",
        receiver.meshIpv4,
        "-t",
        String(seconds),
        "-J",
        "-u",
        "-b",
        "0",
        "-l",
        String(FLOOD_PAYLOAD),
      ]),
    );
    const sentAfter = await linkCounters(sender.namespace, sender.interfaceName);
    const receivedAfter = await linkCounters(receiver.namespace, receiver.interfaceName);
    const cpu = await cpuSeconds(sender.process.pid) + await cpuSeconds(receiver.process.pid) -
      cpuBefore;
    const end = JSON.parse(output).end;
    const sum = end.sum;
    const time = sum.seconds;
    const offered = sum.packets;
    const taken = datagrams(
      sentAfter.txBytes - sentBefore.txBytes,
      sentAfter.txPackets - sentBefore.txPackets,
    );
    const delivered = datagrams(
      receivedAfter.rxBytes - receivedBefore.rxBytes,
      receivedAfter.rxPackets - receivedBefore.rxPackets,
    );
    const writes = receivedAfter.rxPackets - receivedBefore.rxPackets;
    return {
      seconds: time,
      perWrite: writes > 0 ? delivered / writes : 0,
      // The receiver's count, which iperf3 reports per stream (NaN if it ever stops).
      outOfOrder: end.streams?.[0]?.udp?.out_of_order ?? NaN,
      deviceMicros: delivered > 0 ? cpu * 1e6 / delivered : 0,
      offeredPps: offered / time,
      takenPps: taken / time,
      deliveredPps: delivered / time,
      appPps: (sum.packets - sum.lost_packets) / time,
      senderDroppedPps: (sentAfter.txDropped - sentBefore.txDropped) / time,
      loss: offered > 0 ? 1 - delivered / offered : 0,
      tunnelLoss: taken > 0 ? 1 - delivered / taken : 0,
      load: loadAverage(),
    };
  } finally {
    await server.stop();
  }
}
