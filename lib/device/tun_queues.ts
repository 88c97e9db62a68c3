/**
 * Opening the device's multi-queue TUN, with the offloads when asked: IFF_VNET_HDR on every
 * queue and TUNSETOFFLOAD probed from the most to the least the kernel may offer (checksum,
 * TSO4/6 and USO4/6; then without USO, which Linux < 6.2 refuses). When the kernel refuses
 * all of them the queues are reopened plain, and the note says why, for one log line.
 */

import {
  openTun,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  TUN_F_USO6,
  type TunDevice,
} from "../../ffi/tun.ts";

/** The offload sets tried, best first. */
export const OFFLOAD_FLAG_SETS: readonly number[] = [
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
];

/** The opened queues and which offloads they run with. */
export interface TunQueues {
  queues: TunDevice[];
  /** True when reads and writes carry a virtio-net header (offloads on). */
  vnetHeader: boolean;
  /** The TUNSETOFFLOAD flags in force (0: none). */
  offloadFlags: number;
  /** One line for the log: what is on, or why not. */
  note: string;
}

/** True when `flags` include USO for both IPv4 and IPv6: the TUN takes UDP super-packets. */
export function takesUso(flags: number): boolean {
  return (flags & (TUN_F_USO4 | TUN_F_USO6)) === (TUN_F_USO4 | TUN_F_USO6);
}

/** Names the offloads in `flags`, e.g. "csum tso4 tso6 uso4 uso6". */
export function describeOffloads(flags: number): string {
  const names: [number, string][] = [
    [TUN_F_CSUM, "csum"],
    [TUN_F_TSO4, "tso4"],
    [TUN_F_TSO6, "tso6"],
    [TUN_F_USO4, "uso4"],
    [TUN_F_USO6, "uso6"],
  ];
  return names.filter(([flag]) => (flags & flag) !== 0).map(([, name]) => name).join(" ");
}

function openAll(name: string, count: number, vnetHeader: boolean): TunDevice[] {
  const queues: TunDevice[] = [];
  try {
    for (let i = 0; i < count; i++) {
      queues.push(
        openTun({
          name: i === 0 ? name : queues[0].name,
          nonBlocking: true,
          multiQueue: true,
          vnetHeader,
        }),
      );
    }
    return queues;
  } catch (error) {
    for (const queue of queues) queue.close();
    throw error;
  }
}

/** Opens one more queue of interface `name` (for a worker added under load), as the others. */
export function openTunQueue(name: string, vnetHeader: boolean): TunDevice {
  return openAll(name, 1, vnetHeader)[0];
}

/** Opens `count` queues of interface `name`, with the offloads unless `offload` is false. */
export function openTunQueues(name: string, count: number, offload: boolean): TunQueues {
  if (!offload) {
    return {
      queues: openAll(name, count, false),
      vnetHeader: false,
      offloadFlags: 0,
      note: "TUN offloads off (--no-offload)",
    };
  }
  let why = "";
  try {
    const queues = openAll(name, count, true);
    for (const flags of OFFLOAD_FLAG_SETS) {
      try {
        queues[0].setOffload(flags);
        return {
          queues,
          vnetHeader: true,
          offloadFlags: flags,
          note: `TUN offloads on: ${describeOffloads(flags)}`,
        };
      } catch (error) {
        why = (error as Error).message;
      }
    }
    for (const queue of queues) queue.close();
  } catch (error) {
    why = (error as Error).message;
  }
  return {
    queues: openAll(name, count, false),
    vnetHeader: false,
    offloadFlags: 0,
    note: `TUN offloads unavailable, plain packets (${why})`,
  };
}
