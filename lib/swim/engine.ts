/**
 * The sans-IO SWIM membership engine with the Lifeguard extensions. Bytes and `now` go in
 * (`receive`, `tick`); datagrams to send (`drainOutgoing`) and events (`drainEvents`) come
 * out. It never reads a clock and never touches a socket, so the daemon, tests and the
 * simulator drive it alike. Message handling order follows security invariant 4: size/type,
 * trust, replay window, then crypto, and only then any state change.
 */

import { HEADER_BYTES, ItemKind, MessageType, NACK_TIMEOUT_FRACTION } from "./constants.ts";
import { type Address, assertAddress } from "./endpoint.ts";
import type { MemberInfo, SwimEvent } from "./events.ts";
import { associatedData, sealDatagram } from "./datagram.ts";
import { readHeader, type SwimHeader } from "./header.ts";
import { decodeHello, encodeHello } from "./hello.ts";
import {
  decodeBody,
  encodeBody,
  FLAG_INTRODUCE,
  FLAG_SYNC_DONE,
  FLAG_SYNC_FULL,
  itemBudget,
} from "./message_body.ts";
import { Peer } from "./peer.ts";
import {
  resolveSwimConfig,
  retransmitLimit,
  suspicionTimeout,
  type SwimConfig,
  type SwimProfileName,
} from "./profiles.ts";
import { TokenBucket } from "./rate_limiter.ts";
import {
  type AliveRecord,
  type Claim,
  compareVersion,
  keyId,
  type LeaveRecord,
  makeAliveRecord,
  makeClaim,
  makeLeaveRecord,
  NatType,
  type NatTypeCode,
  type SwimItem,
  verifyItem,
} from "./records.ts";
import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast_queue.ts";
import { Suspicion } from "./suspicion.ts";
import type { SwimCrypto } from "./swim_crypto.ts";
import { SwimConfigError, SwimDecodeError } from "./swim_errors.ts";
import { TimerHeap } from "./timer_heap.ts";

/** Decides whether a key may take part; org certificates will plug in here later. */
export interface TrustPolicy {
  /** True when `key` (Ed25519, 32 bytes) is trusted; `id` is the same key as a binary string. */
  isTrusted(key: Uint8Array, id: string): boolean;
}

/** A trust policy from a fixed list of keys (what `authorized_keys/` gives). */
export function trustKeys(keys: Iterable<Uint8Array>): TrustPolicy {
  const ids = new Set<string>();
  for (const key of keys) ids.add(keyId(key));
  return { isTrusted: (_key, id) => ids.has(id) };
}

/** A datagram the caller must send. */
export interface Outgoing {
  /** Destination address. */
  to: Address;
  /** The datagram. */
  data: Uint8Array;
}

/** How to build an engine. */
export interface SwimEngineOptions {
  /** Our identity's crypto (real: `createSwimCrypto`). */
  crypto: SwimCrypto;
  /** Who may take part. */
  trust: TrustPolicy;
  /** Boot epoch: must grow on every restart (e.g. wall-clock ms at start-up). */
  epoch: number;
  /** Endpoints we advertise (numeric `ip:port`). */
  endpoints: Address[];
  /** Our NAT type (NatType), if known. */
  nat?: NatTypeCode;
  /** Resolved seed addresses to join through. */
  seeds?: Address[];
  /** Tuning profile (default "lan"). */
  profile?: SwimProfileName;
  /** Per-setting overrides of the profile. */
  config?: Partial<SwimConfig>;
  /** Uniform random numbers in [0, 1); pass a seeded PRNG for reproducible runs. */
  random?: () => number;
}

/** Counters for tests, benches and `meshguard status`. */
export interface SwimStats {
  /** Datagrams handed out for sending. */
  sent: number;
  /** Bytes handed out for sending. */
  sentBytes: number;
  /** Datagrams accepted (authenticated). */
  accepted: number;
  /** Dropped datagrams by reason. */
  dropped: Record<string, number>;
}

/** Hard cap on peers (trusted keys seen); the trust set bounds it first. */
const MAX_PEERS = 65_536;
/** Ping-req relays in flight at once. */
const MAX_RELAYS = 256;
/** Distinct claimers remembered per member version. */
const MAX_CLAIMERS = 16;

/** A probe we started. */
interface Probe {
  seq: number;
  target: Peer;
  helpers: Set<string>;
  nacks: number;
  acked: boolean;
  expedited: boolean;
}

/** A ping-req we serve for someone else. */
interface Relay {
  requester: Peer;
  requesterSeq: number;
  target: Peer;
  answered: boolean;
}

/** The SWIM + Lifeguard engine for one node. */
export class SwimEngine {
  /** The resolved configuration. */
  readonly config: SwimConfig;
  /** Counters. */
  readonly stats: SwimStats = { sent: 0, sentBytes: 0, accepted: 0, dropped: {} };

  readonly #crypto: SwimCrypto;
  readonly #trust: TrustPolicy;
  readonly #epoch: number;
  readonly #selfId: string;
  readonly #random: () => number;
  readonly #seeds: Address[];
  #endpoints: Address[];
  #nat: NatTypeCode;
  #incarnation = 0;
  #record: AliveRecord;

  readonly #peers = new Map<string, Peer>();
  /** Listed members (have a record, not removed), for O(1) random picks and sync pages. */
  readonly #list: Peer[] = [];
  /** Members we declared dead and still try to reconnect to (partition healing). */
  readonly #dead = new Set<Peer>();
  #probeOrder: Peer[] = [];
  #probeIndex = 0;
  readonly #probes = new Map<number, Probe>();
  readonly #relays = new Map<number, Relay>();
  #seq = 0;
  #expedited = 0;
  readonly #queue = new BroadcastQueue();
  readonly #timers = new TimerHeap();
  readonly #awareness: Awareness;
  readonly #helloBucket: TokenBucket;
  readonly #verifyFn = (key: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
    this.#crypto.verify(key, message, signature);
  #gossipArmed = false;
  #helloCounter = 0;
  #aliveCount = 0;
  #connected = false;
  #joinBackoff: number;
  #fullSyncWith: string | null = null;
  #leaving = false;
  #started = false;
  #now = 0;
  #outbox: Outgoing[] = [];
  #events: SwimEvent[] = [];

  /** Builds an engine; call `start(now)` before anything else. */
  constructor(options: SwimEngineOptions) {
    this.config = resolveSwimConfig(options.profile ?? "lan", options.config ?? {});
    if (!(Number.isSafeInteger(options.epoch) && options.epoch > 0)) {
      throw new SwimConfigError(
        `epoch must be a positive integer that grows on every restart (e.g. Date.now() at start-up), got ${options.epoch}`,
      );
    }
    for (const address of [...options.endpoints, ...(options.seeds ?? [])]) {
      assertAddress(address);
    }
    this.#crypto = options.crypto;
    this.#trust = options.trust;
    this.#epoch = options.epoch;
    this.#selfId = keyId(options.crypto.publicKey);
    this.#random = options.random ?? Math.random;
    this.#seeds = [...(options.seeds ?? [])];
    this.#endpoints = [...options.endpoints];
    this.#nat = options.nat ?? NatType.Unknown;
    this.#awareness = new Awareness(
      this.config.lifeguard ? this.config.awarenessMaxMultiplier : 1,
    );
    this.#helloBucket = new TokenBucket(
      this.config.helloRatePerSecond,
      Math.max(1, this.config.helloRatePerSecond),
    );
    this.#joinBackoff = this.config.joinRetryInitial;
    this.#record = this.#signSelf();
  }

  // ---------------------------------------------------------------- public surface

  /** Our public key. */
  get publicKey(): Uint8Array {
    return this.#crypto.publicKey;
  }

  /** Our boot epoch. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Our current incarnation (only we raise it: refutations, record changes). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** Lifeguard's local health score (0 = healthy). */
  get healthScore(): number {
    return this.#awareness.score;
  }

  /** True once we have heard from a live member. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Updates still waiting to be disseminated. */
  get pendingBroadcasts(): number {
    return this.#queue.size;
  }

  /** Sizes of every internal table (tests check that outsiders cannot grow them). */
  tableSizes(): Record<string, number> {
    return {
      peers: this.#peers.size,
      members: this.#list.length,
      probes: this.#probes.size,
      relays: this.#relays.size,
      queue: this.#queue.size,
      timers: this.#timers.size,
    };
  }

  /** Starts timers and the join; idempotent. */
  start(now: number): void {
    if (this.#started) return;
    this.#started = true;
    this.#now = now;
    const c = this.config;
    this.#timers.add(now + this.#random() * c.probeInterval, () => this.#probeTick());
    this.#timers.add(now + c.pushPullInterval * (0.5 + this.#random()), () => this.#pushPull());
    this.#timers.add(now + c.reconnectInterval * (0.5 + this.#random()), () => this.#reconnect());
    this.#joinTick();
  }

  /** Handles one received datagram from `from` at time `now`. */
  receive(from: Address, data: Uint8Array, now: number): void {
    this.#now = Math.max(this.#now, now);
    this.#timers.runDue(this.#now);
    this.#receive(from, data);
  }

  /** Runs every timer due at `now`. */
  tick(now: number): void {
    this.#now = Math.max(this.#now, now);
    this.#timers.runDue(this.#now);
  }

  /** When `tick` must be called next (Infinity when nothing is scheduled). */
  nextDeadline(): number {
    return this.#timers.peek();
  }

  /** Takes the datagrams produced so far. */
  drainOutgoing(): Outgoing[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** Takes the events produced so far. */
  drainEvents(): SwimEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** Listed members (not ourselves), optionally only those in `state`. */
  members(state?: MemberInfo["state"]): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const peer of this.#list) {
      if (state === undefined || peer.state === state) out.push(peer.info());
    }
    return out;
  }

  /** Our view of one member, or null. */
  member(key: Uint8Array): MemberInfo | null {
    const peer = this.#peers.get(keyId(key));
    return peer !== undefined && peer.isMember ? peer.info() : null;
  }

  /** Changes what we advertise (new endpoint, NAT type); raises our incarnation. */
  updateLocal(endpoints: Address[], nat: NatTypeCode, now: number): void {
    for (const address of endpoints) assertAddress(address);
    this.#now = Math.max(this.#now, now);
    this.#endpoints = [...endpoints];
    this.#nat = nat;
    this.#incarnation++;
    this.#record = this.#signSelf();
    this.#broadcast("r" + this.#selfId, this.#record.bytes);
  }

  /** Pre-loads records (e.g. a member cache from disk); each is verified like gossip. */
  learn(records: AliveRecord[], now: number): void {
    this.#now = Math.max(this.#now, now);
    for (const record of records) this.#onAlive(record, false, false);
  }

  /**
   * Announces a graceful leave: a signed leave record sent at once to several members and
   * left in the gossip queue. Keep ticking until `pendingBroadcasts` is 0 (or a timeout).
   */
  leave(now: number): void {
    this.#now = Math.max(this.#now, now);
    this.#leaving = true;
    const record = makeLeaveRecord(this.#crypto, this.#epoch, this.#incarnation);
    this.#broadcast("r" + this.#selfId, record.bytes);
    for (const peer of this.#randomMembers(this.config.gossipNodes * 2, null)) {
      this.#send(peer, MessageType.Gossip, 0, 0, null, [record.bytes]);
    }
  }

  // ---------------------------------------------------------------- receive path

  #drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  #receive(from: Address, data: Uint8Array): void {
    let header: SwimHeader;
    try {
      header = readHeader(data);
    } catch (error) {
      if (error instanceof SwimDecodeError) return this.#drop(error.reason);
      throw error;
    }
    const senderId = keyId(header.sender);
    if (senderId === this.#selfId) return this.#drop("self");
    if (!this.#trust.isTrusted(header.sender, senderId)) return this.#drop("untrusted");
    if (header.type === MessageType.Hello) return this.#onHello(from, data, header, senderId);
    if (data.length < HEADER_BYTES + 16) return this.#drop("truncated");
    if (header.receiverEpoch !== this.#epoch) return this.#drop("stale-epoch");
    const peer = this.#peer(header.sender, senderId);
    if (peer === null) return this.#drop("peer-table-full");
    const session = peer.sessionState();
    if (!session.replay.check(header.senderEpoch, header.counter)) return this.#drop("replay");
    const key = this.#rxKey(peer, header.senderEpoch);
    if (key === null) return this.#drop("bad-key");
    const aad = associatedData(header.raw, this.#crypto.publicKey);
    const plain = this.#crypto.open(key, header.counter, aad, data.subarray(HEADER_BYTES));
    if (plain === null) return this.#drop("auth");
    let body;
    try {
      body = decodeBody(header.type, plain);
    } catch (error) {
      if (error instanceof SwimDecodeError) return this.#drop(error.reason);
      throw error;
    }
    // Authenticated from here on: only now may state change.
    session.replay.accept(header.senderEpoch, header.counter);
    this.stats.accepted++;
    if (header.senderEpoch > peer.peerEpoch) peer.peerEpoch = header.senderEpoch;
    peer.address = from;
    for (const item of body.items) this.#onItem(item, peer);
    if (!this.#connected && !this.#leaving) this.#onConnected(peer);
    const wantsIntro = (body.flags & FLAG_INTRODUCE) !== 0;
    const introduce = peer.record === null ? FLAG_INTRODUCE : 0;
    switch (header.type) {
      case MessageType.Ping:
        this.#send(peer, MessageType.Ack, body.seq, introduce, null, this.#buddyItems(peer), from);
        break;
      case MessageType.PingReq:
        this.#onPingReq(peer, body.seq, body.target!);
        break;
      case MessageType.Ack:
        this.#onAck(peer, body.seq);
        break;
      case MessageType.Nack: {
        const probe = this.#probes.get(body.seq);
        if (probe !== undefined && probe.helpers.has(peer.id)) probe.nacks++;
        break;
      }
      case MessageType.SyncRequest:
        this.#onSyncRequest(peer, body.seq, body.flags);
        break;
      case MessageType.SyncResponse:
        if (this.#fullSyncWith === peer.id) {
          if ((body.flags & FLAG_SYNC_DONE) !== 0) this.#fullSyncWith = null;
          else this.#send(peer, MessageType.SyncRequest, body.seq, FLAG_SYNC_FULL, null, []);
        }
        break;
    }
    if (wantsIntro) this.#send(peer, MessageType.Gossip, 0, 0, null, [this.#record.bytes]);
  }

  #onHello(from: Address, data: Uint8Array, header: SwimHeader, senderId: string): void {
    if (this.#leaving) return this.#drop("leaving");
    if (!this.#helloBucket.take(this.#now)) return this.#drop("hello-rate");
    let parts;
    try {
      parts = decodeHello(data, header.sender);
    } catch (error) {
      if (error instanceof SwimDecodeError) return this.#drop(error.reason);
      throw error;
    }
    const peer = this.#peer(header.sender, senderId);
    if (peer === null) return this.#drop("peer-table-full");
    const session = peer.sessionState();
    if (
      header.senderEpoch < session.helloEpoch ||
      (header.senderEpoch === session.helloEpoch && header.counter <= session.helloCounter)
    ) return this.#drop("replay");
    if (!this.#crypto.verify(header.sender, parts.message, parts.signature)) {
      return this.#drop("auth");
    }
    if (!this.#verify(parts.record)) return this.#drop("bad-signature");
    session.helloEpoch = header.senderEpoch;
    session.helloCounter = header.counter;
    this.stats.accepted++;
    if (header.senderEpoch > peer.peerEpoch) peer.peerEpoch = header.senderEpoch;
    peer.address = from;
    this.#onAlive(parts.record, true, true);
    if (!this.#connected) this.#onConnected(peer);
    this.#send(peer, MessageType.Ack, 0, 0, null, [this.#record.bytes], from);
  }

  #onConnected(peer: Peer): void {
    this.#connected = true;
    this.#joinBackoff = this.config.joinRetryInitial;
    this.#events.push({ type: "connected" });
    // Catch up with the whole membership through the first member that answered, unless we
    // already know more than it (a member cache was loaded): push-pull covers the rest.
    if (this.#list.length > 1) return;
    this.#fullSyncWith = peer.id;
    this.#send(peer, MessageType.SyncRequest, 0, FLAG_SYNC_FULL, null, [this.#record.bytes]);
  }

  #onPingReq(requester: Peer, seq: number, targetKey: Uint8Array): void {
    const targetId = keyId(targetKey);
    const target = targetId === this.#selfId ? null : this.#peers.get(targetId);
    if (target === undefined || target === null || !target.isMember || target.address === null) {
      // We are alive but cannot help: a nack tells the requester its own link is fine.
      if (this.config.lifeguard) this.#send(requester, MessageType.Nack, seq, 0, null, []);
      return;
    }
    if (this.#relays.size >= MAX_RELAYS) return this.#drop("relay-table-full");
    const relaySeq = this.#nextSeq();
    const relay: Relay = { requester, requesterSeq: seq, target, answered: false };
    this.#relays.set(relaySeq, relay);
    this.#send(target, MessageType.Ping, relaySeq, 0, null, []);
    const timeout = this.config.probeTimeout;
    if (this.config.lifeguard) {
      this.#timers.add(this.#now + timeout * NACK_TIMEOUT_FRACTION, () => {
        if (!relay.answered) this.#send(requester, MessageType.Nack, seq, 0, null, []);
      });
    }
    this.#timers.add(this.#now + timeout, () => this.#relays.delete(relaySeq));
  }

  #onAck(peer: Peer, seq: number): void {
    const relay = this.#relays.get(seq);
    if (relay !== undefined) {
      if (relay.target !== peer) return;
      relay.answered = true;
      this.#relays.delete(seq);
      this.#send(relay.requester, MessageType.Ack, relay.requesterSeq, 0, null, []);
      return;
    }
    const probe = this.#probes.get(seq);
    if (probe === undefined || probe.acked) return;
    if (probe.target !== peer && !probe.helpers.has(peer.id)) return;
    probe.acked = true;
    if (this.config.lifeguard) this.#awareness.apply(-1);
  }

  #onSyncRequest(peer: Peer, cursor: number, flags: number): void {
    const full = (flags & FLAG_SYNC_FULL) !== 0;
    const size = this.#list.length + 1;
    const startAt = full ? cursor : cursor % size;
    const { items, next, done } = this.#page(startAt, itemBudget(MessageType.SyncResponse));
    this.#send(
      peer,
      MessageType.SyncResponse,
      next,
      done ? FLAG_SYNC_DONE : 0,
      null,
      items,
      null,
      false,
    );
  }

  /** Our records from index `start` (index 0 is ourselves) that fit `budget`. */
  #page(start: number, budget: number): { items: Uint8Array[]; next: number; done: boolean } {
    const items: Uint8Array[] = [];
    let index = start;
    const total = this.#list.length + 1;
    while (index < total) {
      const bytes = index === 0 ? this.#record.bytes : this.#list[index - 1].record!.bytes;
      if (bytes.length > budget) break;
      items.push(bytes);
      budget -= bytes.length;
      index++;
    }
    return { items, next: index, done: index >= total };
  }

  // ---------------------------------------------------------------- items

  /**
   * Checks an item's signature. Items are only ever verified when they would change state:
   * an item not newer than what we hold (the common case for gossip heard again) is dropped
   * by the version check first, which is the cache that matters.
   */
  #verify(item: SwimItem): boolean {
    return verifyItem(item, this.#verifyFn);
  }

  #onItem(item: SwimItem, via: Peer): void {
    switch (item.kind) {
      case ItemKind.Alive:
        return this.#onAlive(item, false, true);
      case ItemKind.Leave:
        return this.#onLeave(item);
      default:
        return this.#onClaim(item, via);
    }
  }

  #onAlive(record: AliveRecord, verified: boolean, propagate: boolean): void {
    if (record.id === this.#selfId) {
      // Only we may raise our incarnation: answer a newer-looking record of ours by outbidding.
      if (
        record.epoch === this.#epoch && record.incarnation > this.#incarnation &&
        (verified || this.#verify(record))
      ) this.#refute(record.incarnation);
      return;
    }
    if (!this.#trust.isTrusted(record.subject, record.id)) return this.#drop("untrusted-record");
    const existing = this.#peers.get(record.id);
    if (
      existing !== undefined && existing.epoch !== 0 &&
      compareVersion(record.epoch, record.incarnation, existing.epoch, existing.incarnation) <= 0
    ) return;
    if (!verified && !this.#verify(record)) return this.#drop("bad-signature");
    const peer = existing ?? this.#peer(record.subject, record.id, true);
    if (peer === null) return this.#drop("peer-table-full");
    const wasMember = peer.isMember;
    const before = peer.state;
    const restarted = peer.epoch !== 0 && record.epoch > peer.epoch;
    const old = peer.record;
    peer.record = record;
    peer.epoch = record.epoch;
    peer.incarnation = record.incarnation;
    peer.claims = null;
    this.#cancelTimer(peer);
    peer.suspicion = null;
    if (record.epoch > peer.peerEpoch) peer.peerEpoch = record.epoch;
    if ((peer.address === null || restarted) && record.endpoints.length > 0) {
      peer.address = record.endpoints[0];
    }
    if (propagate) this.#broadcast("r" + record.id, record.bytes);
    if (!wasMember || before === "left") {
      peer.removed = false;
      this.#setState(peer, "alive");
      this.#listAdd(peer);
      this.#events.push({ type: "joined", member: peer.info() });
    } else if (before === "suspect" || before === "dead") {
      this.#setState(peer, "alive");
      this.#events.push({ type: "alive", member: peer.info(), restarted });
    } else if (restarted || (old !== null && !sameAdvert(old, record))) {
      this.#events.push({ type: "updated", member: peer.info(), restarted });
    }
  }

  #onLeave(record: LeaveRecord): void {
    if (record.id === this.#selfId) {
      if (!this.#leaving && record.epoch === this.#epoch && this.#verify(record)) {
        this.#refute(record.incarnation);
      }
      return;
    }
    const peer = this.#peers.get(record.id);
    if (peer === undefined || peer.record === null || peer.state === "left") return;
    if (compareVersion(record.epoch, record.incarnation, peer.epoch, peer.incarnation) < 0) return;
    if (!this.#verify(record)) return this.#drop("bad-signature");
    peer.epoch = record.epoch;
    peer.incarnation = record.incarnation;
    peer.claims = null;
    peer.suspicion = null;
    this.#cancelTimer(peer);
    this.#broadcast("r" + record.id, record.bytes);
    if (peer.removed) return;
    this.#setState(peer, "left");
    this.#events.push({ type: "left", member: peer.info() });
    this.#scheduleRemoval(peer);
  }

  #onClaim(claim: Claim, via: Peer): void {
    if (claim.id === this.#selfId) {
      // Buddy system: we are accused; refute at once with a higher incarnation.
      if (
        !this.#leaving && claim.epoch === this.#epoch && claim.incarnation >= this.#incarnation &&
        this.#verify(claim)
      ) {
        if (this.config.lifeguard) this.#awareness.apply(1);
        this.#refute(claim.incarnation);
        // Tell the accuser directly too, so its suspicion ends without waiting for gossip.
        this.#send(via, MessageType.Gossip, 0, 0, null, [this.#record.bytes]);
      }
      return;
    }
    if (claim.claimerId === this.#selfId) return;
    const peer = this.#peers.get(claim.id);
    if (peer === undefined || !peer.isMember || peer.state === "left") return;
    if (compareVersion(claim.epoch, claim.incarnation, peer.epoch, peer.incarnation) !== 0) return;
    if (!this.#trust.isTrusted(claim.claimer, claim.claimerId)) return;
    if (peer.claims?.has(claim.claimerId)) return;
    if (peer.claims !== null && peer.claims.size >= MAX_CLAIMERS) return;
    if (!this.#verify(claim)) return this.#drop("bad-signature");
    (peer.claims ??= new Set()).add(claim.claimerId);
    this.#broadcast("c" + claim.id + claim.claimerId, claim.bytes);
    // Hearsay never changes liveness by itself: it only shortens a suspicion we already
    // hold (Lifeguard confirmation) or makes us probe the member ourselves now.
    if (peer.state === "suspect" && peer.suspicion !== null) {
      if (this.config.lifeguard && peer.suspicion.confirm(claim.claimerId)) {
        this.#armSuspicionTimer(peer);
      }
    } else if (peer.state === "alive") {
      this.#expeditedProbe(peer);
    }
  }

  #refute(seen: number): void {
    this.#incarnation = Math.max(this.#incarnation, seen) + 1;
    this.#record = this.#signSelf();
    this.#broadcast("r" + this.#selfId, this.#record.bytes);
  }

  // ---------------------------------------------------------------- probing

  #probeTick(): void {
    const c = this.config;
    this.#timers.add(this.#now + this.#awareness.scale(c.probeInterval), () => this.#probeTick());
    if (this.#leaving) return;
    this.#checkConnected();
    const target = this.#nextProbeTarget();
    if (target !== null) this.#startProbe(target, false);
  }

  #nextProbeTarget(): Peer | null {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#probeIndex < this.#probeOrder.length) {
        const peer = this.#probeOrder[this.#probeIndex++];
        if (
          peer.isMember && (peer.state === "alive" || peer.state === "suspect") && !peer.probing
        ) {
          return peer;
        }
      }
      // End of a round: reshuffle (SWIM's round-robin bounds worst-case detection time).
      this.#probeOrder = this.#list.slice();
      this.#shuffle(this.#probeOrder);
      this.#probeIndex = 0;
    }
    return null;
  }

  #expeditedProbe(peer: Peer): void {
    if (this.#leaving || peer.probing || this.#expedited >= this.config.maxExpeditedProbes) return;
    if (this.#now - peer.lastProbe < this.config.probeInterval) return;
    this.#startProbe(peer, true);
  }

  #startProbe(target: Peer, expedited: boolean): void {
    const seq = this.#nextSeq();
    const probe: Probe = { seq, target, helpers: new Set(), nacks: 0, acked: false, expedited };
    this.#probes.set(seq, probe);
    target.probing = true;
    target.lastProbe = this.#now;
    if (expedited) this.#expedited++;
    const start = this.#now;
    this.#send(target, MessageType.Ping, seq, 0, null, this.#buddyItems(target));
    const c = this.config;
    this.#timers.add(start + this.#awareness.scale(c.probeTimeout), () => {
      if (probe.acked) return;
      for (const helper of this.#randomMembers(c.indirectChecks, target)) {
        probe.helpers.add(helper.id);
        this.#send(helper, MessageType.PingReq, seq, 0, target.key, []);
      }
      // A second direct ping rides alongside (memberlist falls back to TCP here; we have UDP).
      this.#send(target, MessageType.Ping, seq, 0, null, this.#buddyItems(target));
    });
    this.#timers.add(start + this.#awareness.scale(c.probeInterval), () => {
      this.#probes.delete(seq);
      target.probing = false;
      if (expedited) this.#expedited--;
      if (probe.acked) return;
      if (c.lifeguard) {
        const expected = probe.helpers.size;
        this.#awareness.apply(expected > 0 ? Math.max(0, expected - probe.nacks) : 1);
      }
      if (target.isMember && target.state === "alive") this.#suspect(target);
    });
  }

  /** Buddy system: what we tell a member we probe about its own standing. */
  #buddyItems(peer: Peer): Uint8Array[] {
    if (!this.config.lifeguard || !peer.isMember) return [];
    if (peer.state !== "suspect" && peer.state !== "dead") return [];
    const kind = peer.state === "dead" ? ItemKind.Dead : ItemKind.Suspect;
    return [makeClaim(this.#crypto, kind, peer.key, peer.epoch, peer.incarnation).bytes];
  }

  #suspect(peer: Peer): void {
    const c = this.config;
    const n = this.#aliveCount + 1;
    const min = suspicionTimeout(c, n);
    let k = c.lifeguard ? c.suspicionMult - 2 : 0;
    if (n - 2 < k) k = 0;
    const max = c.lifeguard ? c.suspicionMaxTimeoutMult * min : min;
    peer.suspicion = new Suspicion(this.#selfId, k, min, max, this.#now);
    if (c.lifeguard && peer.claims !== null) {
      for (const claimer of peer.claims) peer.suspicion.confirm(claimer);
    }
    this.#setState(peer, "suspect");
    this.#armSuspicionTimer(peer);
    this.#events.push({ type: "suspect", member: peer.info() });
    const claim = makeClaim(this.#crypto, ItemKind.Suspect, peer.key, peer.epoch, peer.incarnation);
    this.#broadcast("c" + peer.id + this.#selfId, claim.bytes);
  }

  #armSuspicionTimer(peer: Peer): void {
    this.#cancelTimer(peer);
    const suspicion = peer.suspicion!;
    peer.timer = this.#timers.add(suspicion.deadline, () => {
      peer.timer = null;
      if (peer.state !== "suspect" || peer.suspicion !== suspicion) return;
      peer.suspicion = null;
      this.#setState(peer, "dead");
      this.#events.push({ type: "dead", member: peer.info() });
      const claim = makeClaim(this.#crypto, ItemKind.Dead, peer.key, peer.epoch, peer.incarnation);
      this.#broadcast("c" + peer.id + this.#selfId, claim.bytes);
      this.#scheduleRemoval(peer);
    });
  }

  #scheduleRemoval(peer: Peer): void {
    this.#cancelTimer(peer);
    const since = peer.stateSince;
    peer.timer = this.#timers.add(this.#now + this.config.deadRetention, () => {
      peer.timer = null;
      if (peer.stateSince !== since || (peer.state !== "dead" && peer.state !== "left")) return;
      peer.removed = true;
      this.#recount(peer);
      this.#listRemove(peer);
      this.#events.push({ type: "removed", member: peer.info() });
      // Keep the tombstone (its version) while we still try to reconnect, then forget it.
      peer.timer = this.#timers.add(this.#now + this.config.reconnectTimeout, () => {
        if (peer.removed && peer.stateSince === since) {
          this.#peers.delete(peer.id);
          this.#dead.delete(peer);
        }
      });
    });
  }

  #cancelTimer(peer: Peer): void {
    if (peer.timer !== null) peer.timer.cancelled = true;
    peer.timer = null;
  }

  // ---------------------------------------------------------------- periodic work

  /** Queues an update for dissemination and makes sure the gossip timer runs. */
  #broadcast(key: string, bytes: Uint8Array): void {
    this.#queue.push(key, bytes);
    if (this.#gossipArmed || !this.#started) return;
    this.#gossipArmed = true;
    const delay = this.config.gossipInterval * (0.5 + 0.5 * this.#random());
    this.#timers.add(this.#now + delay, () => this.#gossipTick());
  }

  /** The gossip timer runs only while updates are pending (idle clusters pay nothing). */
  #gossipTick(): void {
    this.#gossipArmed = false;
    if (this.#queue.size === 0) return;
    for (const peer of this.#randomMembers(this.config.gossipNodes, null)) {
      if (this.#queue.size === 0) break;
      this.#send(peer, MessageType.Gossip, 0, 0, null, []);
    }
    if (this.#queue.size > 0) {
      this.#gossipArmed = true;
      this.#timers.add(this.#now + this.config.gossipInterval, () => this.#gossipTick());
    }
  }

  #pushPull(): void {
    this.#timers.add(this.#now + this.config.pushPullInterval, () => this.#pushPull());
    if (this.#leaving) return;
    const [peer] = this.#randomMembers(1, null);
    if (peer === undefined) return;
    const total = this.#list.length + 1;
    const start = Math.floor(this.#random() * total);
    const { items } = this.#page(start, itemBudget(MessageType.SyncRequest));
    const cursor = Math.floor(this.#random() * 0xffff_ffff);
    this.#send(peer, MessageType.SyncRequest, cursor, 0, null, items, null, false);
  }

  /** Pings a random dead member now and then: how two healed partition halves find each other. */
  #reconnect(): void {
    this.#timers.add(this.#now + this.config.reconnectInterval, () => this.#reconnect());
    if (this.#leaving) return;
    if (this.#dead.size === 0) return;
    let skip = Math.floor(this.#random() * Math.min(64, this.#dead.size));
    let peer: Peer | undefined;
    for (peer of this.#dead) if (skip-- <= 0) break;
    if (peer === undefined || peer.record === null) return;
    if (peer.address === null && peer.record!.endpoints.length > 0) {
      peer.address = peer.record!.endpoints[0];
    }
    const claim = makeClaim(this.#crypto, ItemKind.Dead, peer.key, peer.epoch, peer.incarnation);
    this.#send(peer, MessageType.Ping, this.#nextSeq(), 0, null, [claim.bytes, this.#record.bytes]);
  }

  #checkConnected(): void {
    if (this.#connected && this.#aliveCount === 0) {
      this.#connected = false;
      this.#events.push({ type: "isolated" });
      this.#joinBackoff = this.config.joinRetryInitial;
      this.#joinTick();
    }
  }

  /** Sends Hello to every seed while we know no live member, with exponential backoff. */
  #joinTick(): void {
    if (this.#connected || this.#leaving || this.#seeds.length === 0) return;
    for (const seed of this.#seeds) {
      const data = encodeHello(this.#crypto, this.#epoch, ++this.#helloCounter, this.#record);
      this.#emit(seed, data);
    }
    const delay = this.#joinBackoff * (0.75 + 0.5 * this.#random());
    this.#joinBackoff = Math.min(this.config.joinRetryMax, this.#joinBackoff * 2);
    this.#timers.add(this.#now + delay, () => this.#joinTick());
  }

  // ---------------------------------------------------------------- sending

  #send(
    peer: Peer,
    type: number,
    seq: number,
    flags: number,
    target: Uint8Array | null,
    extra: Uint8Array[],
    to: Address | null = null,
    piggyback = true,
  ): void {
    const address = to ?? peer.address ?? peer.record?.endpoints[0] ?? null;
    if (address === null || peer.peerEpoch === 0) return;
    const key = this.#txKey(peer);
    if (key === null) return;
    let budget = itemBudget(type);
    const items: Uint8Array[] = [];
    for (const item of extra) {
      if (item.length > budget || items.length >= 255) break;
      items.push(item);
      budget -= item.length;
    }
    if (piggyback && this.#queue.size > 0) {
      const limit = retransmitLimit(this.config.retransmitMult, this.#aliveCount + 1);
      for (const item of this.#queue.take(budget, limit, 255 - items.length)) items.push(item);
    }
    if (peer.record === null) flags |= FLAG_INTRODUCE;
    const body = encodeBody(type, seq, flags, target, items);
    const counter = peer.session!.txCounter++;
    this.#emit(
      address,
      sealDatagram(this.#crypto, key, type, this.#epoch, peer.peerEpoch, counter, peer.key, body),
    );
  }

  #emit(to: Address, data: Uint8Array): void {
    this.stats.sent++;
    this.stats.sentBytes += data.length;
    this.#outbox.push({ to, data });
  }

  #shared(peer: Peer): Uint8Array | null {
    const session = peer.sessionState();
    if (session.shared === undefined) session.shared = this.#crypto.sharedSecret(peer.key);
    return session.shared;
  }

  #txKey(peer: Peer): Uint8Array | null {
    const session = peer.sessionState();
    if (session.txKey !== null && session.txKeyEpoch === peer.peerEpoch) return session.txKey;
    const shared = this.#shared(peer);
    if (shared === null) return null;
    session.txKey = this.#crypto.sessionKey(
      shared,
      this.#crypto.publicKey,
      peer.key,
      this.#epoch,
      peer.peerEpoch,
    );
    session.txKeyEpoch = peer.peerEpoch;
    // A new peer epoch means a new key, so counters may restart without nonce reuse.
    session.txCounter = 0;
    return session.txKey;
  }

  #rxKey(peer: Peer, senderEpoch: number): Uint8Array | null {
    const session = peer.sessionState();
    if (session.rxKey !== null && session.rxKeyEpoch === senderEpoch) return session.rxKey;
    const shared = this.#shared(peer);
    if (shared === null) return null;
    const key = this.#crypto.sessionKey(
      shared,
      peer.key,
      this.#crypto.publicKey,
      senderEpoch,
      this.#epoch,
    );
    // Only cache the newest epoch's key: an older epoch is refused by the replay window anyway.
    if (senderEpoch >= session.rxKeyEpoch) {
      session.rxKey = key;
      session.rxKeyEpoch = senderEpoch;
    }
    return key;
  }

  // ---------------------------------------------------------------- tables

  /** The peer for a trusted key, created on first sight; `owned` = `key` may be kept as is. */
  #peer(key: Uint8Array, id: string, owned = false): Peer | null {
    let peer = this.#peers.get(id);
    if (peer === undefined) {
      if (this.#peers.size >= MAX_PEERS) return null;
      peer = new Peer(owned ? key : key.slice(), id);
      this.#peers.set(id, peer);
    }
    return peer;
  }

  #setState(peer: Peer, state: Peer["state"]): void {
    if (state === "dead") this.#dead.add(peer);
    else this.#dead.delete(peer);
    peer.state = state;
    peer.stateSince = this.#now;
    this.#recount(peer);
  }

  /** Keeps `#aliveCount` (the N in every log10 N formula) in step with one peer. */
  #recount(peer: Peer): void {
    const alive = peer.isMember && peer.state === "alive";
    if (alive !== peer.countedAlive) {
      this.#aliveCount += alive ? 1 : -1;
      peer.countedAlive = alive;
    }
  }

  #listAdd(peer: Peer): void {
    if (peer.listIndex >= 0) return;
    peer.listIndex = this.#list.length;
    this.#list.push(peer);
    // New members go to a random place in the current round, as memberlist does.
    const order = this.#probeOrder;
    const at = this.#probeIndex +
      Math.floor(this.#random() * (order.length - this.#probeIndex + 1));
    order.push(peer);
    if (at < order.length - 1) [order[at], order[order.length - 1]] = [peer, order[at]];
  }

  #listRemove(peer: Peer): void {
    const index = peer.listIndex;
    if (index < 0) return;
    const last = this.#list.pop()!;
    if (last !== peer) {
      this.#list[index] = last;
      last.listIndex = index;
    }
    peer.listIndex = -1;
  }

  /** Up to `count` distinct random alive members other than `exclude`. */
  #randomMembers(count: number, exclude: Peer | null): Peer[] {
    const out: Peer[] = [];
    const list = this.#list;
    if (list.length === 0 || count <= 0) return out;
    for (let tries = 0; tries < count * 4 && out.length < count; tries++) {
      const peer = list[Math.floor(this.#random() * list.length)];
      if (peer === exclude || peer.state !== "alive" || out.includes(peer)) continue;
      out.push(peer);
    }
    return out;
  }

  #shuffle(array: Peer[]): void {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [array[i], array[j]] = [array[j], array[i]];
    }
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #signSelf(): AliveRecord {
    return makeAliveRecord(
      this.#crypto,
      this.#epoch,
      this.#incarnation,
      this.#nat,
      this.#endpoints,
    );
  }
}

function sameAdvert(a: AliveRecord, b: AliveRecord): boolean {
  return a.nat === b.nat && a.endpoints.length === b.endpoints.length &&
    a.endpoints.every((endpoint, i) => endpoint === b.endpoints[i]);
}
