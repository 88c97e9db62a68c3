/**
 * The socket edge of relaying (issue 13): a DatagramSocket around the mesh port's socket that
 * (1) sends datagrams addressed to a virtual relay endpoint to their relay, behind a TO_RELAY
 * header; (2) turns FROM_RELAY frames from a bound relay into the bare WireGuard datagram from
 * the virtual endpoint (`unwrapFrame`, which the data path calls for each received datagram, or
 * GRO segment, that starts with the relay magic: it opens the datagram 16 bytes in, where it
 * lies); (3) on a relay, forwards TO_RELAY frames through the RelayTable and consumes them.
 * Everything else passes untouched, so the engine and WireGuard's roaming see ordinary
 * endpoints. No datagram is moved: a tx slot whose view was registered with headroom
 * (`registerTxHeadroom`: the data path loops' slots) is sent as header + datagram in place, and
 * a received one is opened behind its header. A GRO slot may mix relayed frames of several
 * peers and the relay's own datagrams (one 4-tuple), hence the per-segment unwrap.
 * A relay forwards a receive batch with one send (`flushRelayed`): the frames stay where they
 * were received and go out as a batch, so the consecutive frames of one sender to one
 * destination (a GRO slot's segments) leave as one UDP GSO message instead of a sendto each.
 */

import type { DatagramSocket } from "../device/packet_io.ts";
import { type RelayEndpoints, VIRTUAL_PORT } from "./relay_endpoints.ts";
import { PacketSlot } from "../device/packet_io.ts";
import { hasRelayMagicAt, RELAY_FROM, RELAY_HEADER_BYTES } from "./relay_frame.ts";
import { RelayHold } from "./relay_hold.ts";
import {
  RELAY_DROP_NO_PATH,
  RELAY_DROP_UNTRUSTED,
  RELAY_FORWARD,
  type RelayTable,
} from "./relay_table.ts";

/** Largest datagram sent through `sendTo` to a virtual endpoint (handshakes, keepalives). */
const SCRATCH_BYTES = 65_536;

/** Frames one forwarding send takes at most (a full batch is sent and the queue starts over). */
const FORWARD_BATCH = 256;
/** Frame offsets remembered per receive view (GRO segment starts: a few per segment size). */
const MAX_OFFSET_VIEWS = 512;
/** How long forwarding waits for send buffer space (ms), as the data path's own sends do. */
const FORWARD_WAIT_MS = 5;

/** Tx slot views whose RELAY_HEADER_BYTES before them are free, to the view that includes them. */
const TX_HEADROOM_VIEWS = new WeakMap<Uint8Array, Uint8Array>();

/**
 * Declares that the RELAY_HEADER_BYTES before tx slot view `view` are free: `framed` is the same
 * memory starting that many bytes earlier. A relayed datagram in that slot is then sent from
 * `framed` with the header written in front, with no move (called once per slot, at set-up).
 */
export function registerTxHeadroom(view: Uint8Array, framed: Uint8Array): void {
  if (
    framed.buffer !== view.buffer || framed.byteOffset + RELAY_HEADER_BYTES !== view.byteOffset ||
    framed.byteLength !== view.byteLength + RELAY_HEADER_BYTES
  ) {
    throw new RangeError("a tx headroom view must start RELAY_HEADER_BYTES before its slot");
  }
  TX_HEADROOM_VIEWS.set(view, framed);
}

/** What the relay edge did, for status and tests. */
export interface RelaySocketStats {
  /** Datagrams sent to a relay for a relayed peer. */
  wrapped: number;
  /** Relayed datagrams received from a bound relay. */
  unwrapped: number;
  /**
   * Relay frames dropped here (unbound relay or peer, or we relay nothing / refused it); an
   * initiation held until an address is proven (`hold`) is not counted here.
   */
  dropped: number;
  /** Frames forwarded as a relay, and the sends that carried them (a batch each). */
  forwarded: number;
  forwardSends: number;
}

/** A socket that speaks the relay frame at its edge (see the module comment). */
export class RelaySocket implements DatagramSocket {
  /** Counters (plain fields: one writer, this socket's thread). */
  readonly stats: RelaySocketStats = {
    wrapped: 0,
    unwrapped: 0,
    dropped: 0,
    forwarded: 0,
    forwardSends: 0,
  };
  /** Initiations this relay could not forward yet (relay_hold.ts). */
  readonly hold: RelayHold = new RelayHold();
  private readonly scratch = new Uint8Array(SCRATCH_BYTES + RELAY_HEADER_BYTES);
  private readonly slotAddresses: Uint8Array[] = [];
  /** The slots' own views while `sendBatch` sends from their headroom views (else null). */
  private readonly plainViews: (Uint8Array | null)[] = [];
  /** Frames to forward, as views of the receive slots they arrived in (sent by flushRelayed). */
  private readonly forwards: PacketSlot[] = [];
  private forwardCount = 0;
  /** Per receive view: a view starting at each frame offset seen (GRO segments), made once. */
  private readonly offsetViews = new WeakMap<Uint8Array, Map<number, Uint8Array>>();

  /**
   * `endpoints`: this node's bindings; `relay`: the table when this node relays (else null);
   * `now`: the clock the relay's budgets run on (ms).
   */
  constructor(
    readonly inner: DatagramSocket,
    readonly endpoints: RelayEndpoints,
    public relay: RelayTable | null,
    private readonly now: () => number,
  ) {}

  /** Forwards held initiations whose destination has a path now (after a table change). */
  releaseHeld(): void {
    if (this.relay === null || this.hold.count === 0) return;
    this.hold.release(this.relay, this.now(), this.sendHeld);
  }

  private readonly sendHeld = (frame: Uint8Array): void => {
    const relay = this.relay!;
    try {
      this.inner.sendTo(frame, relay.destIp, relay.destPort, frame.length, 0);
    } catch {
      // Best effort, as every datagram.
    }
  };

  /** Sends as the inner socket, through the relay when `address` is a virtual endpoint. */
  sendTo(
    view: Uint8Array,
    address: Uint8Array,
    port: number,
    length: number,
    timeoutMs: number,
  ): number {
    if (address.length !== 16 || port !== VIRTUAL_PORT || address[0] !== 0x01) {
      return this.inner.sendTo(view, address, port, length, timeoutMs);
    }
    if (length > SCRATCH_BYTES) return 0;
    this.scratch.set(view.subarray(0, length), RELAY_HEADER_BYTES);
    const start = this.endpoints.wrap(this.scratch, RELAY_HEADER_BYTES, length, address);
    if (start < 0) return 0;
    this.stats.wrapped++;
    const e = this.endpoints;
    return this.inner.sendTo(
      this.scratch,
      e.toIp,
      e.toPort,
      length + RELAY_HEADER_BYTES,
      timeoutMs,
    );
  }

  /**
   * Sends a batch; slots for virtual endpoints are wrapped in place first: the header goes into
   * a registered slot's headroom (the slot sends from its headroom view for this call), else the
   * datagram moves 16 bytes on to make room.
   */
  sendBatch(slots: readonly PacketSlot[], count: number, timeoutMs: number): number {
    let framed = 0;
    for (let i = 0; i < count; i++) {
      const slot = slots[i];
      const address = slot.address;
      if (address.length !== 16 || slot.port !== VIRTUAL_PORT || address[0] !== 0x01) continue;
      const headroom = TX_HEADROOM_VIEWS.get(slot.view);
      const start = headroom === undefined
        ? this.endpoints.wrap(slot.view, 0, slot.length, address)
        : this.endpoints.wrap(headroom, RELAY_HEADER_BYTES, slot.length, address);
      if (start < 0) {
        // An unbound virtual endpoint (its relay just went away): goes nowhere.
        slot.length = 0;
        continue;
      }
      if (headroom !== undefined) {
        while (this.plainViews.length < count) this.plainViews.push(null);
        this.plainViews[i] = slot.view;
        slot.view = headroom;
        framed++;
      }
      this.stats.wrapped++;
      // The engine sets every slot's address and length when it seals: ours are per slot.
      const own = this.slotAddresses[i] ??= new Uint8Array(16);
      own.set(this.endpoints.toIp);
      slot.address = own;
      slot.port = this.endpoints.toPort;
      slot.length += RELAY_HEADER_BYTES;
    }
    if (framed === 0) return this.inner.sendBatch(slots, count, timeoutMs);
    try {
      return this.inner.sendBatch(slots, count, timeoutMs);
    } finally {
      // The slots get their own views back: the next seal writes there.
      const plain = this.plainViews;
      for (let i = 0; i < count; i++) {
        const view = plain[i];
        if (view === null) continue;
        slots[i].view = view;
        plain[i] = null;
      }
    }
  }

  /**
   * Receives a batch, then: frames to relay (TO_RELAY) and other non-FROM relay frames in a slot
   * of their own are queued to go on or dropped, and are marked consumed (`truncated`, which
   * the loops skip); FROM_RELAY frames, and every GRO slot, are left as received for
   * `unwrapFrame`. The caller sends the queue with `flushRelayed` once it has walked the batch.
   */
  receiveBatch(slots: readonly PacketSlot[], timeoutMs: number): number {
    // Queued frames lie in the receive slots: out before the slots are received into again.
    this.flushRelayed();
    this.releaseHeld();
    const received = this.inner.receiveBatch(slots, timeoutMs);
    for (let i = 0; i < received; i++) {
      const slot = slots[i];
      if (slot.truncated || slot.segmentSize > 0) continue;
      if (!hasRelayMagicAt(slot.view, 0, slot.length) || slot.view[5] === RELAY_FROM) continue;
      slot.truncated = true;
      this.consume(slot.view, 0, slot.length, slot.address, slot.port);
    }
    return received;
  }

  /**
   * One received relay frame, `view[at, at + length)` (a datagram of its own, or a GRO
   * segment): RELAY_HEADER_BYTES when it is a relayed datagram for us, from a bound relay naming
   * a bound peer (its virtual source written into `virtualAddress`), else -1 (queued to forward
   * as a relay, held, or dropped).
   */
  unwrapFrame(
    view: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
    virtualAddress: Uint8Array,
  ): number {
    if (this.endpoints.unwrapAt(view, at, length, fromIp, fromPort, virtualAddress) >= 0) {
      this.stats.unwrapped++;
      return RELAY_HEADER_BYTES;
    }
    this.consume(view, at, length, fromIp, fromPort);
    return -1;
  }

  /**
   * Sends the frames queued for forwarding since the last call, as one batch (consecutive ones
   * to one destination become one GSO message where the socket segments).
   */
  flushRelayed(): void {
    const count = this.forwardCount;
    if (count === 0) return;
    this.forwardCount = 0;
    this.stats.forwardSends++;
    try {
      this.inner.sendBatch(this.forwards, count, FORWARD_WAIT_MS);
    } catch {
      // Best effort, as every datagram.
    }
  }

  /** A relay frame not for us: queued when we relay and the table allows it, else dropped. */
  private consume(
    view: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
  ): void {
    const relay = this.relay;
    const verdict = relay === null
      ? -1
      : relay.relayAt(view, at, length, fromIp, fromPort, this.now());
    if (verdict === RELAY_FORWARD) {
      this.queueForward(view, at, length, relay!);
      return;
    }
    if (
      (verdict === RELAY_DROP_NO_PATH || verdict === RELAY_DROP_UNTRUSTED) &&
      this.hold.hold(view.subarray(at, at + length), fromIp, fromPort, relay!, this.now(), verdict)
    ) {
      return;
    }
    this.stats.dropped++;
  }

  private queueForward(view: Uint8Array, at: number, length: number, relay: RelayTable): void {
    if (this.forwardCount === FORWARD_BATCH) this.flushRelayed();
    const i = this.forwardCount++;
    let slot = this.forwards[i];
    if (slot === undefined) {
      slot = new PacketSlot(view);
      this.forwards.push(slot);
    }
    slot.view = at === 0 ? view : this.viewAt(view, at);
    slot.length = length;
    slot.address.set(relay.destIp);
    slot.port = relay.destPort;
    this.stats.forwarded++;
  }

  /** `view` from `at` on, made once per (view, offset): the send path keys addresses by view. */
  private viewAt(view: Uint8Array, at: number): Uint8Array {
    let byOffset = this.offsetViews.get(view);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.offsetViews.set(view, byOffset);
    }
    let out = byOffset.get(at);
    if (out === undefined) {
      // Segment sizes vary little (one per path MTU); a flood of odd ones starts over.
      if (byOffset.size >= MAX_OFFSET_VIEWS) byOffset.clear();
      out = view.subarray(at);
      byOffset.set(at, out);
    }
    return out;
  }
}
