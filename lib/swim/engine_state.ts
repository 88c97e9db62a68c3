/**
 * The state one SWIM node shares between its protocol parts (probing, liveness,
 * dissemination, push-pull, join): identity, member tables, timers, and what waits to go
 * out. Those parts are free functions over this object rather than engine methods so each
 * concept lives in its own file; the engine owns the only instance and never hands it out,
 * so callers still see nothing but the engine's public API.
 */

import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast_queue.ts";
import type { Address } from "./address.ts";
import type { SwimEvent } from "./events.ts";
import { type ListedEntry, MemberTable } from "./member_table.ts";
import type { Probe, Relay } from "./probe_types.ts";
import type { SwimConfig } from "./profiles.ts";
import { HelloCookies } from "./hello_cookie.ts";
import { PunchState } from "./punch_state.ts";
import { TokenBucket } from "./token_bucket.ts";
import { type AliveRecord, keyId, makeAliveRecord, type NatTypeCode } from "./records.ts";
import type { SwimCrypto } from "./swim_crypto.ts";
import { TimerHeap } from "./timer_heap.ts";
import type { TrustPolicy } from "./trust_policy.ts";

/** A datagram the caller must send. */
export interface Outgoing {
  /** Destination address. */
  to: Address;
  /** The datagram. */
  data: Uint8Array;
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

/** What a node's state is built from; the engine has validated all of it. */
export interface SwimStateInit {
  /** The resolved configuration. */
  config: SwimConfig;
  /** Our identity's crypto. */
  crypto: SwimCrypto;
  /** Who may take part. */
  trust: TrustPolicy;
  /** Our boot epoch. */
  epoch: number;
  /** Endpoints we advertise. */
  endpoints: Address[];
  /** Our NAT type. */
  nat: NatTypeCode;
  /** Our record's feature bits. */
  recordFlags: number;
  certificate: Uint8Array | null;
  /** Seed addresses to join through. */
  seeds: Address[];
  /** Uniform random numbers in [0, 1). */
  random: () => number;
}

const seqPool = new Uint32Array(256);
let seqPoolNext = seqPool.length;

/** 32 unpredictable bits from the system CSPRNG (drawn in batches: one ping needs one). */
function randomU32(): number {
  if (seqPoolNext === seqPool.length) {
    crypto.getRandomValues(seqPool);
    seqPoolNext = 0;
  }
  return seqPool[seqPoolNext++];
}

/** Everything one node knows and has pending; plain fields, mutated by the protocol parts. */
export class SwimState {
  /** The resolved configuration. */
  readonly config: SwimConfig;
  /** Counters (the engine exposes this very object as `stats`). */
  readonly stats: SwimStats = { sent: 0, sentBytes: 0, accepted: 0, dropped: {} };
  /** Our identity's crypto. */
  readonly crypto: SwimCrypto;
  /** Who may take part. */
  readonly trust: TrustPolicy;
  /** Our boot epoch. */
  readonly epoch: number;
  /** Our public key as a binary string. */
  readonly selfId: string;
  /** The random source (a seeded PRNG makes whole runs reproducible). */
  readonly random: () => number;
  /** Seed addresses to join through. */
  readonly seeds: Address[];
  /** Endpoints we advertise. */
  endpoints: Address[];
  /** Our NAT type. */
  nat: NatTypeCode;
  /** Our record's feature bits (ALIVE_FLAG_*). */
  readonly recordFlags: number;
  /** Our org certificate, carried in our record (null: none). */
  certificate: Uint8Array | null;
  /** Our incarnation; only we raise it. */
  incarnation = 0;
  /** Our current signed alive record. */
  record: AliveRecord;
  /** Our incarnation reached MAX_INCARNATION (reported once). */
  incarnationExhausted = false;

  /**
   * Every trusted member seen (bounded by the trust set and a hard cap), its listing,
   * liveness, tombstone and the live count: changed only through the table's transitions.
   */
  readonly members: MemberTable;
  /** The current probe round's order (cold members as their records: MemberTable.resolve). */
  probeOrder: ListedEntry[] = [];
  /** Position in `probeOrder`. */
  probeIndex = 0;
  /** Probes we started, by sequence number. */
  readonly probes = new Map<number, Probe>();
  /** Ping-reqs we serve for others, by the sequence number of our ping to the target. */
  readonly relays = new Map<number, Relay>();
  /** Source of the datagram being handled: replies to it may use `replyBudget` bytes. */
  replyTo: Address | null = null;
  /** Bytes still allowed to `replyTo` while it is unverified (the request's own size). */
  replyBudget = 0;
  /** Expedited probes in flight. */
  expedited = 0;
  /** Updates waiting to be piggybacked. */
  readonly queue = new BroadcastQueue();
  /** Every timer of the node. */
  readonly timers = new TimerHeap();
  /** Lifeguard's local health. */
  readonly awareness: Awareness;
  /** Bounds the Hellos we answer. */
  readonly helloBucket: TokenBucket;
  /** Our cookie secrets and per-source Hello limits, as a seed. */
  readonly helloCookies = new HelloCookies();
  /** Cookies seeds gave us, by seed address, with the seed's key and when we got them. */
  readonly seedCookies = new Map<
    Address,
    { receiver: Uint8Array; cookie: Uint8Array; at: number }
  >();
  /** The echo of the last Hello we sent to each seed address (what its cookie must carry). */
  readonly helloEchoes = new Map<Address, Uint8Array>();
  /** Signature check handed to `verifyItem`, bound once. */
  readonly verifyFn = (key: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
    this.crypto.verify(key, message, signature);
  /** Hole punching: backoff per member, bursts in flight, replay positions, rate limits. */
  readonly punch = new PunchState();
  /** The gossip timer is scheduled. */
  gossipArmed = false;
  /**
   * The counter of our next encrypted datagram, one sequence for all members: a counter is
   * never used twice in this epoch under any key, even for a member whose session we forgot and
   * set up again (a per-session counter would restart at 0 under the same key: nonce reuse).
   */
  txCounter = 0;
  /** Counter of the Hellos we sent (their replay position). */
  helloCounter = 0;
  /** We have heard from a live member. */
  connected = false;
  /** Current delay between join attempts. */
  joinBackoff: number;
  /** Key id of the member we page through with a full sync, if any. */
  fullSyncWith: string | null = null;
  /** A graceful leave was announced. */
  leaving = false;
  /** `start` ran. */
  started = false;
  /** Latest time we were handed. */
  now = 0;
  /** Datagrams not yet drained. */
  outbox: Outgoing[] = [];
  /** Events not yet drained. */
  events: SwimEvent[] = [];
  /** Org control messages heard from authenticated members, for the node to verify (bounded). */
  orgInbox: Uint8Array[] = [];

  /** Builds the state of a node that has not started yet. */
  constructor(init: SwimStateInit) {
    this.config = init.config;
    this.crypto = init.crypto;
    this.trust = init.trust;
    this.epoch = init.epoch;
    this.selfId = keyId(init.crypto.publicKey);
    this.random = init.random;
    this.members = new MemberTable();
    this.seeds = init.seeds;
    this.endpoints = init.endpoints;
    this.nat = init.nat;
    this.recordFlags = init.recordFlags;
    this.certificate = init.certificate;
    this.awareness = new Awareness(
      this.config.lifeguard ? this.config.awarenessMaxMultiplier : 1,
    );
    this.helloBucket = new TokenBucket(
      this.config.helloRatePerSecond,
      Math.max(1, this.config.helloRatePerSecond),
    );
    this.joinBackoff = this.config.joinRetryInitial;
    this.record = this.signRecord();
  }

  /** Counts a dropped datagram or item under `reason`. */
  drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  /**
   * A fresh probe / relay sequence number: random, never 0, unused by a pending probe or relay.
   * An ack proves its sender read our ping only while the seq cannot be guessed (invariant 9).
   */
  nextSeq(): number {
    let seq = 0;
    while (seq === 0 || this.probes.has(seq) || this.relays.has(seq)) seq = randomU32();
    return seq;
  }

  /** Signs our alive record for the current incarnation, NAT type and endpoints. */
  signRecord(): AliveRecord {
    return makeAliveRecord(
      this.crypto,
      this.epoch,
      this.incarnation,
      this.nat,
      this.endpoints,
      this.recordFlags,
      this.certificate,
    );
  }
}
