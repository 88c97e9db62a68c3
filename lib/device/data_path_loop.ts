/**
 * One data worker's packet work, over its I/O seams (`packet_io.ts`) and without the thread: a
 * pass reads a batch from its TUN queue, seals it in place in wasm memory and sends it in one
 * batch; then receives a batch, opens it in place, writes each packet to its flow's TUN queue,
 * and hands handshake and SWIM datagrams to the owner (the main thread). `device_worker.ts`
 * runs it under poll in a Worker; the in-process device of the tests runs several in one thread.
 */

import { AllowedIps } from "../wireguard/allowed_ips.ts";
import { MESSAGE_DATA_HEADER_SIZE } from "../wireguard/constants.ts";
import { DataPlane } from "../wireguard/data_plane.ts";
import { NONE } from "../wireguard/data_plane_state.ts";
import type { Endpoint } from "../wireguard/endpoint.ts";
import { isIpv4Mapped } from "../../ffi/socket_address.ts";
import type { ReceivedDatagram, RouteEntry } from "./device_protocol.ts";
import type { DatagramSocket, PacketSlot, TunQueue } from "./packet_io.ts";
import { flowQueue } from "./flow_queue.ts";
import {
  ANSWER_STUN,
  FORWARD_HANDSHAKE,
  FORWARD_SWIM,
  type WorkerForwarding,
} from "./worker_forwarding.ts";
import { MAX_BINDING_SUCCESS_BYTES, writeBindingSuccess } from "../stun/stun_message.ts";
import { WORKER_BATCH } from "./worker_layout.ts";
import { GsoSplitter } from "./gso_splitter.ts";
import { VIRTIO_NET_HEADER_SIZE } from "./virtio_net_header.ts";
import { TcpCoalescer } from "./tcp_coalescer.ts";
import { hasRelayMagicAt, RELAY_HEADER_BYTES } from "../relay/relay_frame.ts";
import type { PolicyGate } from "../policy/policy_gate.ts";
import type { DataPathLoopOptions } from "./data_path_options.ts";
import { createDataPathSlots } from "./data_path_slots.ts";

export type { DataPathLoopOptions } from "./data_path_options.ts";

/**
 * Consecutive failed TUN or UDP calls after which the loop gives up. One failure is not fatal:
 * a queued ICMP error or a transient kernel refusal must not take the whole mesh down.
 */
export const MAX_CONSECUTIVE_IO_ERRORS = 1000;
/** How long a batch send waits for socket buffer space before the rest is dropped. */
const SEND_WAIT_MS = 5;

/** A route table keyed by peer row, as workers route. */
function routeTable(entries: RouteEntry[]): AllowedIps<number> {
  const table = new AllowedIps<number>();
  for (const entry of entries) table.insert(entry.address, entry.cidr, entry.peer);
  return table;
}

/** One worker's data path: buffers made once, then `pass` per poll wake-up. */
export class DataPathLoop {
  /** The sealing and opening against the shared tables. */
  readonly plane: DataPlane;
  /** Packets sealed and handed to the socket since start. */
  packetsOut = 0;
  /** Packets opened and written to a TUN queue since start. */
  packetsIn = 0;
  private socketNow: DatagramSocket;
  private routes: AllowedIps<number>;
  private readonly tun: TunQueue;
  private readonly queues: readonly TunQueue[];
  private readonly forwarding: WorkerForwarding;
  private readonly forwardBatch: DataPathLoopOptions["forward"];
  private readonly txSlots: PacketSlot[];
  private readonly rxSlots: PacketSlot[];
  /** Where a TUN packet is read into each tx slot: after the room for the transport header. */
  private readonly tunViews: Uint8Array[];
  private readonly rxPayloads: Uint8Array[];
  private readonly rxSourcesV4: Endpoint[];
  private readonly rxSourcesV6: Endpoint[];
  /** The virtual source of a relayed datagram (written by the relay edge's `unwrapFrame`). */
  private readonly rxVirtualSources: Endpoint[];
  /** Where a relayed datagram's inner packet lies in each rx slot (behind two headers). */
  private readonly rxRelayedPayloads: Uint8Array[];
  /** Where a STUN answer is written before it is sent (one at a time, reused). */
  private readonly stunAnswer = new Uint8Array(MAX_BINDING_SUCCESS_BYTES);
  private ioErrors = 0;
  private readonly policy: PolicyGate | null;
  /** The whole wasm memory (packets are checked where they lie). */
  private readonly bytes: Uint8Array;
  private handshakes: ReceivedDatagram[] = [];
  private swim: ReceivedDatagram[] = [];
  /** Super-packet splitting; null when the TUN has no virtio-net header. */
  readonly splitter: GsoSplitter | null;
  /** Where a vnet TUN read lands (header, then up to 64 KB). */
  private readonly superView: Uint8Array;
  /** GRO towards the kernel (vnet TUN only): a batch's TCP segments joined per flow. */
  readonly coalescer: TcpCoalescer | null;
  private readonly mtu: number;

  constructor(options: DataPathLoopOptions) {
    const core = options.core;
    this.tun = options.tun;
    this.queues = options.queues;
    this.socketNow = options.socket;
    this.routes = routeTable(options.routes);
    this.forwarding = options.forwarding;
    this.forwardBatch = options.forward;
    this.policy = options.policy ?? null;
    this.bytes = core.bytes;
    const gro = options.receiveCoalescing ?? false;
    const { nonceAt, scratchAt, superEnd, ...slots } = createDataPathSlots(
      core,
      options.arenaAt,
      options.mtu,
      gro,
    );
    this.txSlots = slots.txSlots;
    this.rxSlots = slots.rxSlots;
    this.tunViews = slots.tunViews;
    this.rxPayloads = slots.rxPayloads;
    this.rxSourcesV4 = slots.rxSourcesV4;
    this.rxSourcesV6 = slots.rxSourcesV6;
    this.rxRelayedPayloads = slots.rxRelayedPayloads;
    this.rxVirtualSources = slots.rxVirtualSources;
    this.superView = slots.superView;
    this.mtu = options.mtu;
    const sum = (at: number, length: number) => core.exports.checksumSum(at, length);
    this.splitter = options.vnetHeader ? new GsoSplitter(core.bytes, sum) : null;
    this.coalescer = options.vnetHeader
      ? new TcpCoalescer(
        core.bytes,
        sum,
        this.rxSlots.map((slot) =>
          slot.view.subarray(MESSAGE_DATA_HEADER_SIZE - VIRTIO_NET_HEADER_SIZE)
        ),
        options.queues,
        superEnd,
        options.tunUdpSegmentation ?? false,
      )
      : null;
    this.plane = new DataPlane({
      core,
      state: options.state,
      routes: { peerAt: (bytes, at, length) => this.routes.lookupIn(bytes, at, length) ?? NONE },
      events: options.events,
      send: (bytes, to) => {
        try {
          this.socketNow.sendTo(bytes, to.address, to.port, bytes.length, 0);
        } catch {
          // One unroutable peer must not stop the device; the timers retry.
        }
      },
      writer: options.writer,
      mtu: options.mtu,
      nonceAddress: nonceAt,
      scratchAddress: scratchAt,
      stats: { transportDropped: 0, replayedTransport: 0, spoofedSource: 0, noRoute: 0 },
    });
  }

  /** The socket this loop sends and receives on. */
  get socket(): DatagramSocket {
    return this.socketNow;
  }

  /** Moves to another socket (the listen port changed). */
  set socket(socket: DatagramSocket) {
    this.socketNow = socket;
  }

  /** Replaces the routes (after a UAPI `set`). */
  setRoutes(entries: RouteEntry[]): void {
    this.routes = routeTable(entries);
  }

  /**
   * One pass: what the TUN queue holds (when `tunReadable`), then one receive batch (when
   * `socketReadable`). Throws only after MAX_CONSECUTIVE_IO_ERRORS failed I/O calls in a row.
   */
  pass(tunReadable: boolean, socketReadable: boolean, now: number): void {
    if (tunReadable) {
      if (this.splitter === null) this.outbound(now);
      else this.outboundSplit(this.splitter, now);
    }
    if (socketReadable) this.inbound(now);
  }

  /** A batch from the TUN queue, sealed in place, sent in one batch. */
  private outbound(now: number): void {
    const plane = this.plane;
    const txSlots = this.txSlots;
    const tunViews = this.tunViews;
    const policy = this.policy;
    const bytes = this.bytes;
    let ready = 0;
    for (let i = 0; i < WORKER_BATCH; i++) {
      let length: number;
      try {
        length = this.tun.read(tunViews[i]);
        this.ioErrors = 0;
      } catch (error) {
        if (++this.ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
        break;
      }
      if (length <= 0) break;
      const at = tunViews[i].byteOffset - MESSAGE_DATA_HEADER_SIZE;
      // Before sealing: a packet staged for a handshake opens its flow too.
      if (policy !== null) policy.noteOutbound(bytes, at + MESSAGE_DATA_HEADER_SIZE, length, now);
      if (!plane.sealInPlace(at, length, now, txSlots[i])) continue;
      if (ready !== i) {
        // Compact the batch; the view travels with its slot.
        const sealed = txSlots[i];
        txSlots[i] = txSlots[ready];
        txSlots[ready] = sealed;
        const view = tunViews[i];
        tunViews[i] = tunViews[ready];
        tunViews[ready] = view;
      }
      ready++;
    }
    if (ready > 0) {
      this.packetsOut += ready;
      try {
        this.socketNow.sendBatch(txSlots, ready, SEND_WAIT_MS);
      } catch {
        // A broken socket shows on the next receive; packets are best effort.
      }
    }
  }

  /**
   * The offload path: each read is a virtio-net header and a packet or super-packet, cut into
   * MTU-sized packets straight into the tx slots (sealed there); a full batch is sent at once.
   * Every segment passes the same policy note and sealing as a plain read.
   */
  private outboundSplit(splitter: GsoSplitter, now: number): void {
    const plane = this.plane;
    const txSlots = this.txSlots;
    const tunViews = this.tunViews;
    const policy = this.policy;
    const bytes = this.bytes;
    const superAt = this.superView.byteOffset;
    const mtu = this.mtu;
    let ready = 0;
    for (let reads = 0; reads < WORKER_BATCH; reads++) {
      let length: number;
      try {
        length = this.tun.read(this.superView);
        this.ioErrors = 0;
      } catch (error) {
        if (++this.ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
        break;
      }
      if (length <= 0) break;
      if (!splitter.begin(superAt, length, mtu)) continue;
      for (;;) {
        if (ready === WORKER_BATCH) {
          this.sendSealed(ready);
          ready = 0;
        }
        const packetAt = tunViews[ready].byteOffset;
        const segment = splitter.next(packetAt);
        if (segment === 0) break;
        if (policy !== null) policy.noteOutbound(bytes, packetAt, segment, now);
        // A refused segment's slot is simply reused by the next one.
        if (plane.sealInPlace(packetAt - MESSAGE_DATA_HEADER_SIZE, segment, now, txSlots[ready])) {
          ready++;
        }
      }
    }
    if (ready > 0) this.sendSealed(ready);
  }

  /** Sends the first `ready` tx slots in one batch. */
  private sendSealed(ready: number): void {
    this.packetsOut += ready;
    try {
      this.socketNow.sendBatch(this.txSlots, ready, SEND_WAIT_MS);
    } catch {
      // A broken socket shows on the next receive; packets are best effort.
    }
  }

  /** One receive batch, opened in place and written to the TUN from wasm memory. */
  private inbound(now: number): void {
    let received = 0;
    try {
      received = this.socketNow.receiveBatch(this.rxSlots, 0);
      this.ioErrors = 0;
    } catch (error) {
      if (++this.ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
    }
    const plane = this.plane;
    const queues = this.queues;
    const policy = this.policy;
    const coalescer = this.coalescer;
    const socket = this.socketNow;
    const bytes = this.bytes;
    const frames = socket.unwrapFrame !== undefined;
    this.forwarding.startBatch();
    for (let i = 0; i < received; i++) {
      const slot = this.rxSlots[i];
      if (slot.truncated) continue;
      const direct = isIpv4Mapped(slot.address) ? this.rxSourcesV4[i] : this.rxSourcesV6[i];
      direct.port = slot.port;
      // With UDP GRO a slot holds same-size datagrams back to back (the last may be shorter);
      // behind a relay edge each may be a relay frame, of any relayed peer, or the relay's own:
      // one that is for us is opened behind its header, where it lies.
      const size = slot.segmentSize > 0 ? slot.segmentSize : slot.length;
      for (let offset = 0; offset < slot.length; offset += size) {
        let start = offset;
        let length = Math.min(size, slot.length - offset);
        let source = direct;
        if (frames && hasRelayMagicAt(bytes, slot.view.byteOffset + offset, length)) {
          const virtual = this.rxVirtualSources[i];
          const header = socket.unwrapFrame!(
            slot.view,
            offset,
            length,
            slot.address,
            slot.port,
            virtual.address,
          );
          if (header < 0) continue;
          start += header;
          length -= header;
          source = virtual;
        }
        const at = slot.view.byteOffset + start;
        const inner = plane.openInPlace(at, length, source, now);
        if (inner > 0) {
          const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
          if (
            policy !== null &&
            !policy.admitInbound(plane.openedPeer, this.bytes, packetAt, inner, now)
          ) {
            continue;
          }
          this.packetsIn++;
          // The flow's queue, not ours: the kernel sends the flow's replies to the queue its
          // packets came from, so this spreads sealing over the workers by flow.
          const q = flowQueue(
            slot.view,
            start + MESSAGE_DATA_HEADER_SIZE,
            inner,
            queues.length,
          );
          if (coalescer !== null) {
            // The transport header is spent: its last 10 bytes become the virtio-net header.
            coalescer.add(i, packetAt, inner, q);
            continue;
          }
          try {
            // A datagram of its own, relayed or not; GRO without a vnet TUN (in-process tests
            // only) takes a view.
            const payload = start === 0
              ? this.rxPayloads[i]
              : start === RELAY_HEADER_BYTES
              ? this.rxRelayedPayloads[i]
              : slot.view.subarray(start + MESSAGE_DATA_HEADER_SIZE);
            queues[q].write(payload, inner);
          } catch {
            // A packet the kernel refuses is dropped, as any router would.
          }
        } else if (inner < 0) {
          this.forward(slot.view.subarray(start, start + length), source, now);
        }
      }
    }
    if (coalescer !== null) coalescer.flush();
    // A relay's frames to forward, queued in place by the edge: one send for the batch.
    if (frames) socket.flushRelayed?.();
    if (this.handshakes.length > 0 || this.swim.length > 0) {
      this.forwardBatch(this.handshakes, this.swim);
      this.handshakes = [];
      this.swim = [];
    }
  }

  /** Copies a handshake or SWIM datagram for the main thread, if forwarding lets it through. */
  private forward(datagram: Uint8Array, source: Endpoint, now: number): void {
    const verdict = this.forwarding.decide(datagram, source, now);
    if (verdict === ANSWER_STUN) {
      this.answerStun(datagram, source);
      return;
    }
    if (verdict === FORWARD_HANDSHAKE || verdict === FORWARD_SWIM) {
      const copy = { address: source.address.slice(), port: source.port, data: datagram.slice() };
      (verdict === FORWARD_HANDSHAKE ? this.handshakes : this.swim).push(copy);
    }
  }

  /**
   * Answers a plain Binding request with the source we observed (stateless: the answer depends
   * only on the request's transaction ID and its source). Sent to where the request came from,
   * never elsewhere, so it cannot be aimed at a third party except by spoofing, which the
   * forwarding's rate limit bounds.
   */
  private answerStun(request: Uint8Array, source: Endpoint): void {
    const length = writeBindingSuccess(this.stunAnswer, request, source.address, source.port);
    try {
      this.socketNow.sendTo(this.stunAnswer, source.address, source.port, length, 0);
    } catch {
      // Best effort, like every datagram: the client retransmits.
    }
  }
}
