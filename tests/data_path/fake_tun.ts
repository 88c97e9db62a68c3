/**
 * An in-memory multi-queue TUN interface for in-process devices: the host's stack injects
 * packets (the device reads them), and every packet the device writes is collected, in order,
 * with the queue it went to.
 */

import type { TunQueue } from "../../lib/device/packet_io.ts";
import { flowQueue } from "../../lib/device/flow_queue.ts";

/** A packet the device wrote to the interface. */
export interface WrittenPacket {
  packet: Uint8Array;
  queue: number;
}

/** One queue: packets waiting for the device to read, and a sink for what it writes. */
export class FakeTunQueue implements TunQueue {
  /** Packets the host sent, not yet read by the device. */
  readonly inbound: Uint8Array[] = [];
  /** Packets this queue read, counted (which worker sealed how many). */
  reads = 0;

  constructor(readonly index: number, private readonly written: WrittenPacket[]) {}

  /** True when a read would return a packet (what poll's POLLIN says). */
  get readable(): boolean {
    return this.inbound.length > 0;
  }

  /** Copies the next packet into `view` (cut to the view, as read(2)); 0 when none waits. */
  read(view: Uint8Array): number {
    const packet = this.inbound.shift();
    if (packet === undefined) return 0;
    const length = Math.min(packet.length, view.length);
    view.set(packet.subarray(0, length));
    this.reads++;
    return length;
  }

  /** Collects a copy of the packet. */
  write(view: Uint8Array, length: number): number {
    this.written.push({ packet: view.slice(0, length), queue: this.index });
    return length;
  }
}

/** The interface: its queues and everything written to it. */
export class FakeTun {
  readonly queues: FakeTunQueue[];
  /** Every packet the device delivered to the host, in order. */
  readonly written: WrittenPacket[] = [];

  constructor(queueCount: number) {
    this.queues = Array.from({ length: queueCount }, (_, i) => new FakeTunQueue(i, this.written));
  }

  /**
   * The host sends a packet into the interface. It lands on its flow's queue: the kernel's
   * automq sends a flow to the queue its inbound packets were written on, which the device
   * picks by the same flow hash.
   */
  send(packet: Uint8Array): number {
    const queue = flowQueue(packet, 0, packet.length, this.queues.length);
    this.queues[queue].inbound.push(packet.slice());
    return queue;
  }

  /**
   * A vnet TUN read (virtio-net header, then a packet or super-packet) as the kernel would hand
   * it out, on the queue of the packet's flow.
   */
  sendRead(read: Uint8Array): number {
    const queue = flowQueue(read, 10, read.length - 10, this.queues.length);
    this.queues[queue].inbound.push(read.slice());
    return queue;
  }

  /** The packets delivered to the host so far (copies' views), oldest first. */
  packets(): Uint8Array[] {
    return this.written.map((entry) => entry.packet);
  }
}
