/**
 * An in-memory datagram network for in-process devices: sockets bound to endpoints, datagrams
 * in flight until `deliver`, and hooks to drop, reorder or rewrite them (a NAT rebinding a port
 * makes a peer roam). Deterministic: nothing depends on wall time or unseeded randomness.
 */

import type { DatagramSocket, PacketSlot } from "../../lib/device/packet_io.ts";
import { type Endpoint, formatEndpoint, parseEndpoint } from "../../lib/wireguard/endpoint.ts";

/** A datagram on the fake wire. */
export interface WireDatagram {
  bytes: Uint8Array;
  from: Endpoint;
  to: Endpoint;
}

/** The 4-byte form of an IPv4-mapped address; other addresses unchanged. */
function unmapped(address: Uint8Array): Uint8Array {
  if (address.length !== 16 || address[10] !== 0xff || address[11] !== 0xff) return address;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return address;
  return address.subarray(12, 16);
}

/** The endpoint's text, IPv4-mapped addresses as IPv4 (the map key of a bound socket). */
export function endpointKey(endpoint: Endpoint): string {
  return formatEndpoint({ address: unmapped(endpoint.address), port: endpoint.port });
}

/** A string hash (FNV-1a), for picking a socket of a reuse-port group by source. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** One socket of the fake network (a DatagramSocket): what it sent, what waits for it. */
export class FakeSocket implements DatagramSocket {
  /** Datagrams delivered and not yet received, oldest first. */
  readonly queue: WireDatagram[] = [];
  /** Datagrams it sent (copies), oldest first. */
  readonly sent: WireDatagram[] = [];
  closed = false;
  /**
   * UDP GRO as the kernel does it: consecutive queued datagrams from one source with the first
   * one's size (the last may be shorter) fill one slot, `segmentSize` telling the size.
   */
  coalescing = false;

  constructor(private readonly network: FakeNetwork, readonly endpoint: Endpoint) {}

  /** True when a receive would return something (what poll's POLLIN says). */
  get readable(): boolean {
    return this.queue.length > 0;
  }

  /** Puts `length` bytes of `view` on the wire to `address:port`. */
  sendTo(view: Uint8Array, address: Uint8Array, port: number, length: number): number {
    if (this.closed) throw new Error(`socket ${endpointKey(this.endpoint)} is closed`);
    const datagram = {
      bytes: view.slice(0, length),
      from: this.endpoint,
      to: { address: unmapped(address).slice(), port },
    };
    this.sent.push({ ...datagram, bytes: datagram.bytes.slice() });
    this.network.send(datagram);
    return length;
  }

  /** Sends each slot's datagram. */
  sendBatch(slots: readonly PacketSlot[], count: number): number {
    for (let i = 0; i < count; i++) {
      const slot = slots[i];
      this.sendTo(slot.view, slot.address, slot.port, slot.length);
    }
    return count;
  }

  /** Appends following datagrams of the same source and size to the slot (GRO). */
  private coalesceInto(slot: PacketSlot, first: WireDatagram): void {
    const size = first.bytes.length;
    let used = slot.length;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (
        endpointKey(next.from) !== endpointKey(first.from) || next.bytes.length > size ||
        used + next.bytes.length > slot.view.length
      ) {
        break;
      }
      this.queue.shift();
      slot.view.set(next.bytes, used);
      used += next.bytes.length;
      slot.segmentSize = size;
      if (next.bytes.length < size) break;
    }
    slot.length = used;
  }

  /** Fills the slots from the queue, as recvmmsg: 16-byte addresses, truncation flagged. */
  receiveBatch(slots: readonly PacketSlot[]): number {
    let count = 0;
    while (count < slots.length && this.queue.length > 0) {
      const datagram = this.queue.shift()!;
      const slot = slots[count++];
      const length = Math.min(datagram.bytes.length, slot.view.length);
      slot.view.set(datagram.bytes.subarray(0, length));
      slot.length = length;
      slot.truncated = length < datagram.bytes.length;
      if (slot.address.length !== 16) slot.address = new Uint8Array(16);
      slot.address.fill(0);
      if (datagram.from.address.length === 4) {
        slot.address[10] = slot.address[11] = 0xff;
        slot.address.set(datagram.from.address, 12);
      } else {
        slot.address.set(datagram.from.address);
      }
      slot.port = datagram.from.port;
      slot.segmentSize = 0;
      if (this.coalescing) this.coalesceInto(slot, datagram);
    }
    return count;
  }

  /** Unbinds the socket; what waits is lost. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.network.unbind(this);
  }
}

/** The fake network: bound sockets and the datagrams in flight between them. */
export class FakeNetwork {
  /** Sockets by endpoint; several on one endpoint form an SO_REUSEPORT group. */
  private readonly groups = new Map<string, FakeSocket[]>();
  private inFlight: WireDatagram[] = [];
  /** Datagrams sent to an endpoint nobody is bound to (dropped). */
  unreachable = 0;
  /** Datagrams dropped by `filter`. */
  dropped = 0;
  /** Return false to drop a datagram. */
  filter: (datagram: WireDatagram) => boolean = () => true;
  /** The source the receiver sees (e.g. a NAT's new port, for roaming). */
  rewriteSource: (datagram: WireDatagram) => Endpoint = (datagram) => datagram.from;
  /** Orders one delivery round (default: as sent); may reorder in place. */
  reorder: (batch: WireDatagram[]) => void = () => {};

  /** Binds `count` sockets to `endpoint` (a reuse-port group: the source picks the socket). */
  bind(endpoint: Endpoint | string, count = 1): FakeSocket[] {
    const at = typeof endpoint === "string" ? parseEndpoint(endpoint) : endpoint;
    const key = endpointKey(at);
    const group = this.groups.get(key) ?? [];
    const made = Array.from({ length: count }, () => new FakeSocket(this, at));
    group.push(...made);
    this.groups.set(key, group);
    return made;
  }

  /** Removes a socket from its group. */
  unbind(socket: FakeSocket): void {
    const key = endpointKey(socket.endpoint);
    const group = this.groups.get(key)?.filter((s) => s !== socket) ?? [];
    if (group.length === 0) this.groups.delete(key);
    else this.groups.set(key, group);
  }

  /** Puts a datagram in flight (sockets call this; tests may inject forgeries). */
  send(datagram: WireDatagram): void {
    this.inFlight.push(datagram);
  }

  /** Datagrams in flight. */
  get pending(): number {
    return this.inFlight.length;
  }

  /**
   * Delivers everything in flight to the receiving sockets' queues (filtered, reordered,
   * sources rewritten); returns how many datagrams were handled.
   */
  deliver(): number {
    const batch = this.inFlight;
    this.inFlight = [];
    this.reorder(batch);
    for (const datagram of batch) {
      if (!this.filter(datagram)) {
        this.dropped++;
        continue;
      }
      const group = this.groups.get(endpointKey(datagram.to));
      if (group === undefined) {
        this.unreachable++;
        continue;
      }
      const from = this.rewriteSource(datagram);
      // SO_REUSEPORT: one source always reaches the same socket of the group.
      const socket = group[hash(endpointKey(from)) % group.length];
      socket.queue.push({ bytes: datagram.bytes, from, to: datagram.to });
    }
    return batch.length;
  }
}
