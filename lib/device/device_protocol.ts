/**
 * Messages between a device's main thread (handshakes, timers, UAPI) and its data workers.
 * None is per packet: the main thread sends configuration (routes, "flush what waits for this
 * peer"), workers send handshake messages and the rare requests their data path makes.
 */

import type { Binding } from "../relay/relay_endpoints.ts";
import type { RelayLimits, RelayMemberEntry, RelayTableStats } from "../relay/relay_table.ts";
import type { MemoryLayout } from "../crypto/memory_layout.ts";
import type { DataPlaneDimensions } from "../wireguard/data_plane_state.ts";

/** A datagram that is not WireGuard's, carried between the worker's socket and the daemon. */
export interface ForeignDatagram {
  /** The peer, as `a.b.c.d:port` or `[v6]:port`. */
  address: string;
  data: Uint8Array;
}

/** A datagram a worker received and hands to the main thread. */
export interface ReceivedDatagram {
  /** 4 bytes (IPv4) or 16 (IPv6). */
  address: Uint8Array;
  port: number;
  data: Uint8Array;
}

/** One allowed IP and the peer row that owns it. */
export interface RouteEntry {
  address: Uint8Array;
  cidr: number;
  peer: number;
}

/** Cells of the device's control SharedArrayBuffer (Int32): handshakes posted, not yet handled. */
export const CONTROL_HANDSHAKES_IN_FLIGHT = 0;
/** SWIM datagrams posted to the main thread and not yet handled. */
export const CONTROL_SWIM_IN_FLIGHT = 1;
/** SWIM-looking datagrams a worker dropped as malformed (header, size). */
export const CONTROL_SWIM_MALFORMED = 2;
/** SWIM datagrams a worker dropped because their source address was over its rate. */
export const CONTROL_SWIM_RATE_LIMITED = 3;
/** SWIM datagrams a worker dropped because the main thread had too many in flight. */
export const CONTROL_SWIM_QUEUE_FULL = 4;
/** STUN Binding requests a worker answered (plain XOR-MAPPED-ADDRESS, `lib/stun/`). */
export const CONTROL_STUN_ANSWERED = 5;
/** STUN requests a worker did not answer because their source address was over its rate. */
export const CONTROL_STUN_RATE_LIMITED = 6;
/** STUN-looking datagrams a worker dropped: malformed, or not a plain Binding request/response. */
export const CONTROL_STUN_MALFORMED = 7;
/** Int32 cells in the control buffer. */
export const CONTROL_CELLS = 8;

/** Main thread → worker. */
export type WorkerRequest =
  | {
    type: "init";
    /** This worker's core instance, and its row in the traffic counters (1..n). */
    workerIndex: number;
    module: WebAssembly.Module;
    memory: WebAssembly.Memory;
    layout: MemoryLayout;
    /** Where this worker's buffers start in the packet arena. */
    arenaAt: number;
    stateBuffer: SharedArrayBuffer;
    dimensions: DataPlaneDimensions;
    control: SharedArrayBuffer;
    /**
     * Every TUN queue's fd, this worker's at `workerIndex - 1`: it reads its own and writes each
     * decrypted packet to its flow's queue. The main thread owns (and closes) them all.
     */
    tunFds: number[];
    interfaceName: string;
    udpFd: number;
    udpPort: number;
    mtu: number;
    /** The TUN queues carry virtio-net headers (offloads on). */
    vnetHeader: boolean;
    /** The TUN takes USO super-packets (USO4 and USO6 offered): UDP is coalesced towards it. */
    tunUdpSegmentation: boolean;
    /** Send batches with UDP GSO (UDP_SEGMENT), probed at start. */
    udpSegmentation: boolean;
    /** The sockets have UDP GRO on: receive into 64 KB slots (the arena is sized for it). */
    receiveCoalescing: boolean;
    /** The main thread's `performance.timeOrigin`: every thread keeps time on its clock. */
    timeOrigin: number;
    /** Hand SWIM datagrams arriving on the WireGuard port to the main thread. */
    forwardSwim: boolean;
    /** An eventfd the main thread signals after each message, waking the worker's poll. */
    wakeFd: number;
    routes: RouteEntry[];
    /** The shared service-policy table (`lib/policy/policy_table.ts`) and flow table. */
    policy: { table: SharedArrayBuffer; flows: SharedArrayBuffer };
  }
  | { type: "routes"; routes: RouteEntry[] }
  | { type: "flush"; peer: number }
  | { type: "drop"; peer: number }
  | { type: "socket"; fd: number; port: number }
  /**
   * The TUN queues changed: every queue's fd (a new one last, or the last one gone when its
   * worker retires). The worker answers `queues-set` once it writes to these only.
   */
  | { type: "queues"; tunFds: number[] }
  /**
   * Retire (the last worker, idle): write to `tunFds` only, drain the own TUN queue and socket,
   * answer `retired` and run no more; the main thread then closes the queue and socket.
   */
  | { type: "retire"; tunFds: number[] }
  | {
    /** The relay edge's state (lib/relay/): bindings, and the relay's table when we relay. */
    type: "relay";
    bindings: [number, Binding][];
    relay: { limits: RelayLimits; members: readonly RelayMemberEntry[] } | null;
  }
  | { type: "stop" };

/** Worker → main thread. */
export type WorkerReply =
  | { type: "ready"; workerIndex: number }
  | { type: "received"; handshakes: ReceivedDatagram[]; swim: ReceivedDatagram[] }
  | { type: "want-handshake"; peer: number }
  | { type: "confirmed"; peer: number; keypair: number }
  | { type: "socket-switched"; fd: number }
  /** The worker spent most of its last load window working (the device may add a worker). */
  | { type: "busy"; workerIndex: number }
  /** A relaying worker's counters and pairs (at most once a second, when they changed). */
  | { type: "relay-stats"; workerIndex: number; stats: RelayTableStats }
  | { type: "failed"; message: string }
  /** The worker took a `queues` message: it writes to the queues listed there only. */
  | { type: "queues-set"; workerIndex: number }
  /** A retiring worker drained its queue and socket and stopped; what it carried. */
  | { type: "retired"; workerIndex: number; packetsOut: number; packetsIn: number }
  /** Something the device logs once (e.g. the kernel refused an offload at run time). */
  | { type: "notice"; message: string }
  | { type: "stopped"; workerIndex: number; packetsOut: number; packetsIn: number };
