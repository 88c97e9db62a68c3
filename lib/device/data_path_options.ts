/**
 * How a data path loop (`data_path_loop.ts`) is set up: its core and arena, its TUN queues and
 * socket, its routes, and where handshake and SWIM datagrams and the engine's events go.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import type { DataPlaneEvents } from "../wireguard/data_plane.ts";
import type { DataPlaneState } from "../wireguard/data_plane_state.ts";
import type { ReceivedDatagram, RouteEntry } from "./device_protocol.ts";
import type { DatagramSocket, TunQueue } from "./packet_io.ts";
import type { WorkerForwarding } from "./worker_forwarding.ts";
import type { PolicyGate } from "../policy/policy_gate.ts";

/** How a data path loop is set up. */
export interface DataPathLoopOptions {
  /** This loop's core instance on the shared memory. */
  core: CryptoCore;
  state: DataPlaneState;
  /** Its row in the traffic counters (the worker index, 1..n). */
  writer: number;
  mtu: number;
  /** Where its `workerArenaBytes(mtu, receiveCoalescing)` bytes of packet arena start. */
  arenaAt: number;
  /** The queue this loop reads. */
  tun: TunQueue;
  /** Every queue of the interface: a decrypted packet goes to its flow's. */
  queues: readonly TunQueue[];
  socket: DatagramSocket;
  routes: RouteEntry[];
  forwarding: WorkerForwarding;
  /** Handshake requests and key confirmations for the main thread. */
  events: DataPlaneEvents;
  /** Handshake and SWIM datagrams of one receive batch (copies), for the main thread. */
  forward(handshakes: ReceivedDatagram[], swim: ReceivedDatagram[]): void;
  /** The service policy on decrypted packets and the flows this node opens (none: allow all). */
  policy?: PolicyGate;
  /**
   * The TUN queues were opened with IFF_VNET_HDR (offloads on): reads carry a virtio-net header
   * and may be 64 KB super-packets, split here; writes get a header in front.
   */
  vnetHeader?: boolean;
  /** The vnet TUN takes USO super-packets: a batch's UDP datagrams are coalesced per flow too. */
  tunUdpSegmentation?: boolean;
  /**
   * The socket has UDP GRO on: receive into GRO_SLOTS slots of 64 KB, each cut into its
   * datagrams by `segmentSize`.
   */
  receiveCoalescing?: boolean;
}
