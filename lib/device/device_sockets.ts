/**
 * A device's UDP port: one SO_REUSEPORT socket per data worker on the listen port, their UDP
 * offloads (GSO, GRO) probed once, the fwmark, and a listen-port change that opens a new group
 * while the old sockets stay open until their worker has moved off them.
 */

import { UdpSocket } from "../../ffi/udp_socket.ts";
import { WORKER_BATCH } from "./worker_layout.ts";

/** What the offload probe found (the kernel's answer, the same for every socket). */
export interface UdpOffloads {
  udpSegmentation: boolean;
  receiveCoalescing: boolean;
  /** One line for the start-up log. */
  note: string;
}

/** Opens `count` sockets on `port` (0: the first picks one, the rest join it); all or none. */
export function openSockets(count: number, port: number, fwmark: number): UdpSocket[] {
  const sockets: UdpSocket[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const socket = UdpSocket.open({
        port: i === 0 ? port : sockets[0].port,
        reusePort: true,
        batchSize: WORKER_BATCH,
        receiveBufferBytes: 4 << 20,
      });
      sockets.push(socket);
      if (fwmark !== 0) socket.setFwmark(fwmark);
    }
    return sockets;
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
}

/**
 * Turns the UDP offloads on where the kernel has them (`offload` false: all off). GRO pays only
 * when coalesced TCP can go to a vnet TUN (`vnetHeader`); it needs 64 KB receive slots.
 */
export function enableUdpOffloads(
  sockets: UdpSocket[],
  offload: boolean,
  vnetHeader: boolean,
): UdpOffloads {
  const udpSegmentation = offload && sockets[0].enableSegmentation();
  const receiveCoalescing = vnetHeader &&
    sockets.every((socket) => socket.setReceiveCoalescing(true));
  if (!receiveCoalescing) { for (const socket of sockets) socket.setReceiveCoalescing(false); }
  const note = offload
    ? `UDP GSO ${udpSegmentation ? "on" : "unavailable"}, GRO ${
      receiveCoalescing ? "on" : "unavailable"
    }`
    : "UDP GSO/GRO off";
  return { udpSegmentation, receiveCoalescing, note };
}

/** The device's socket group, current and retiring. */
export class DeviceSockets {
  #current: UdpSocket[];
  /** Sockets replaced by a listen-port change, each closed when its worker has moved off it. */
  #retiring: UdpSocket[] = [];
  #fwmark = 0;

  /** The group over `sockets` (opened by `openSockets`). */
  constructor(sockets: UdpSocket[]) {
    this.#current = sockets;
  }

  /** The current sockets, one per worker. */
  get all(): readonly UdpSocket[] {
    return this.#current;
  }

  /** The socket the main thread sends from (handshakes, SWIM, the relay edge). */
  get primary(): UdpSocket {
    return this.#current[0];
  }

  /** The fwmark set on every socket (0: none). */
  get fwmark(): number {
    return this.#fwmark;
  }

  /** Marks every socket's packets (and those of sockets opened later). */
  setFwmark(mark: number): void {
    for (const socket of this.#current) socket.setFwmark(mark);
    this.#fwmark = mark;
  }

  /**
   * Opens a new group on `port` (throws as `openSockets`); the old one retires until
   * `switched` says its worker left it. Returns the new sockets, or null when `port` is already
   * the port (0 always rebinds).
   */
  rebind(port: number): UdpSocket[] | null {
    if (port === this.primary.port && port !== 0) return null;
    const sockets = openSockets(this.#current.length, port, this.#fwmark);
    this.#retiring.push(...this.#current);
    this.#current = sockets;
    return sockets;
  }

  /**
   * Opens one more socket on the current port for a worker added under load (throws as
   * `openSockets`); `coalescing`: turn UDP GRO on, as on the others.
   */
  add(coalescing: boolean): UdpSocket {
    const [socket] = openSockets(1, this.primary.port, this.#fwmark);
    if (coalescing) socket.setReceiveCoalescing(true);
    this.#current.push(socket);
    return socket;
  }

  /**
   * Takes the last socket out of the group (its worker retired, drained); the caller closes it
   * and the kernel steers the port's datagrams to the others. Never the primary.
   */
  removeLast(): UdpSocket | null {
    return this.#current.length > 1 ? this.#current.pop()! : null;
  }

  /** A worker moved off the socket `fd`: nobody reads it any more, so it closes. */
  switched(fd: number): void {
    const index = this.#retiring.findIndex((socket) => socket.fd === fd);
    if (index >= 0) this.#retiring.splice(index, 1)[0].close();
  }

  /** Closes every socket, current and retiring. */
  close(): void {
    for (const socket of [...this.#current, ...this.#retiring]) socket.close();
  }
}
