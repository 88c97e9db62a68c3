/**
 * The sans-IO SWIM membership engine with the Lifeguard extensions. Bytes and `now` go in
 * (`receive`, `tick`); datagrams to send (`drainOutgoing`) and events (`drainEvents`) come
 * out. It never reads a clock and never touches a socket, so the daemon, tests and the
 * simulator drive it alike.
 *
 * This file is the public face and the protocol-period clock; the protocol itself lives in
 * one file per concept, as free functions over the node's `SwimState`: inbound.ts (receive
 * path), probing.ts, liveness.ts, membership_updates.ts, dissemination.ts, push_pull.ts,
 * join.ts, member_table.ts, outbound.ts and session_keys.ts.
 */

import { ItemKind, MessageType } from "./constants.ts";
import { announceMoved, broadcast, reannounce } from "./dissemination.ts";
import { type Address, assertAddress } from "./address.ts";
import { type Outgoing, SwimState, type SwimStats } from "./engine_state.ts";
import type { MemberInfo, SwimEvent } from "./events.ts";
import { receiveDatagram } from "./inbound.ts";
import { checkConnected, joinTick, reconnect } from "./join.ts";
import { randomAlive } from "./member_picks.ts";
import { onAlive } from "./membership_updates.ts";
import { send } from "./outbound.ts";
import { probeNext } from "./probing.ts";
import { resolveSwimConfig, type SwimConfig, type SwimProfileName } from "./profiles.ts";
import { pushPull } from "./push_pull.ts";
import { punchTick } from "./punch.ts";
import type { PunchStats } from "./punch_state.ts";
import { Member } from "./member.ts";
import { entryState } from "./member_table.ts";
import { forgetUntrusted } from "./revocation.ts";
import { type AliveRecord, keyId, makeLeaveRecord, NatType, type NatTypeCode } from "./records.ts";
import type { SwimCrypto } from "./swim_crypto.ts";
import { SwimConfigError } from "./swim_errors.ts";
import type { TrustPolicy } from "./trust_policy.ts";

export type { Outgoing, SwimStats } from "./engine_state.ts";
export { trustKeys, type TrustPolicy } from "./trust_policy.ts";

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
  /** Our record's feature bits (ALIVE_FLAG_*, e.g. relay-capable); default 0. */
  recordFlags?: number;
  /** Our org certificate (lib/org/), carried in our signed record; default none. */
  certificate?: Uint8Array | null;
  /** Resolved seed addresses to join through. */
  seeds?: Address[];
  /** Tuning profile (default "lan"). */
  profile?: SwimProfileName;
  /** Per-setting overrides of the profile. */
  config?: Partial<SwimConfig>;
  /** Uniform random numbers in [0, 1); pass a seeded PRNG for reproducible runs. */
  random?: () => number;
}

/** What an empty drain returns (shared; frozen, so a caller that writes to it fails loudly). */
const NO_OUTGOING: readonly Outgoing[] = Object.freeze([]);
/** See NO_OUTGOING. */
const NO_EVENTS: readonly SwimEvent[] = Object.freeze([]);

/** The SWIM + Lifeguard engine for one node. */
export class SwimEngine {
  /** The resolved configuration. */
  readonly config: SwimConfig;
  /** Counters. */
  readonly stats: SwimStats;

  readonly #s: SwimState;

  /** Builds an engine; call `start(now)` before anything else. */
  constructor(options: SwimEngineOptions) {
    const config = resolveSwimConfig(options.profile ?? "lan", options.config ?? {});
    if (!(Number.isSafeInteger(options.epoch) && options.epoch > 0)) {
      throw new SwimConfigError(
        `epoch must be a positive integer that grows on every restart (e.g. Date.now() at start-up), got ${options.epoch}`,
      );
    }
    for (const address of [...options.endpoints, ...(options.seeds ?? [])]) {
      assertAddress(address);
    }
    this.#s = new SwimState({
      config,
      crypto: options.crypto,
      trust: options.trust,
      epoch: options.epoch,
      endpoints: [...options.endpoints],
      nat: options.nat ?? NatType.Unknown,
      recordFlags: options.recordFlags ?? 0,
      certificate: options.certificate ?? null,
      seeds: [...(options.seeds ?? [])],
      random: options.random ?? Math.random,
    });
    this.config = config;
    this.stats = this.#s.stats;
  }

  /** Our public key. */
  get publicKey(): Uint8Array {
    return this.#s.crypto.publicKey;
  }

  /** Our boot epoch. */
  get epoch(): number {
    return this.#s.epoch;
  }

  /** Our current incarnation (only we raise it: refutations, record changes). */
  get incarnation(): number {
    return this.#s.incarnation;
  }

  /** Lifeguard's local health score (0 = healthy). */
  get healthScore(): number {
    return this.#s.awareness.score;
  }

  /** True once we have heard from a live member. */
  get connected(): boolean {
    return this.#s.connected;
  }

  /** Hole-punching counters (punch.ts). */
  get punchStats(): Readonly<PunchStats> {
    return this.#s.punch.stats;
  }

  /** Updates still waiting to be disseminated. */
  get pendingBroadcasts(): number {
    return this.#s.queue.size;
  }

  /** Sizes of every internal table (tests check that outsiders cannot grow them). */
  tableSizes(): Record<string, number> {
    const s = this.#s;
    return {
      known: s.members.size,
      members: s.members.listed.length,
      probes: s.probes.size,
      relays: s.relays.size,
      queue: s.queue.size,
      timers: s.timers.size,
      tombstones: s.members.tombstoneCount,
      sessions: s.members.sessions.size,
      helloSources: s.helloCookies.sources,
    };
  }

  /** Starts timers and the join; idempotent. */
  start(now: number): void {
    const s = this.#s;
    if (s.started) return;
    s.started = true;
    s.now = now;
    const c = s.config;
    s.timers.add(now + s.random() * c.probeInterval, () => this.#probeTick());
    s.timers.add(now + c.pushPullInterval * (0.5 + s.random()), () => pushPull(s));
    s.timers.add(now + c.reconnectInterval * (0.5 + s.random()), () => reconnect(s));
    // No draw from `random` here: existing seeded runs keep their streams.
    s.timers.add(now + c.probeInterval, () => punchTick(s));
    joinTick(s);
  }

  /** Handles one received datagram from `from` at time `now`. */
  receive(from: Address, data: Uint8Array, now: number): void {
    this.#s.now = Math.max(this.#s.now, now);
    this.#s.timers.runDue(this.#s.now);
    receiveDatagram(this.#s, from, data);
  }

  /** Runs every timer due at `now`. */
  tick(now: number): void {
    this.#s.now = Math.max(this.#s.now, now);
    this.#s.timers.runDue(this.#s.now);
  }

  /** When `tick` must be called next (Infinity when nothing is scheduled). */
  nextDeadline(): number {
    return this.#s.timers.peek();
  }

  /** Takes the datagrams produced so far. */
  drainOutgoing(): readonly Outgoing[] {
    const out = this.#s.outbox;
    // Drained after every datagram and tick, usually with nothing in it: no new array then.
    if (out.length === 0) return NO_OUTGOING;
    this.#s.outbox = [];
    return out;
  }

  /** Takes the org control messages heard since the last call (unverified: see lib/org/). */
  drainOrgControls(): Uint8Array[] {
    const out = this.#s.orgInbox;
    this.#s.orgInbox = [];
    return out;
  }

  /**
   * Gossips an org control message (verified by the caller) like a membership update; `key`
   * names what it decides about, so a newer decision replaces an older one in the queue.
   */
  broadcastOrgControl(key: string, message: Uint8Array, now: number): void {
    const s = this.#s;
    s.now = Math.max(s.now, now);
    const item = new Uint8Array(3 + message.length);
    item[0] = ItemKind.OrgControl;
    item[1] = item.length & 0xff;
    item[2] = item.length >> 8;
    item.set(message, 3);
    broadcast(s, "o" + key, item);
  }

  /** Takes the events produced so far. */
  drainEvents(): readonly SwimEvent[] {
    const out = this.#s.events;
    if (out.length === 0) return NO_EVENTS;
    this.#s.events = [];
    return out;
  }

  /** Listed members (not ourselves), optionally only those in `state`. */
  members(state?: MemberInfo["state"]): MemberInfo[] {
    const out: MemberInfo[] = [];
    const table = this.#s.members;
    for (const entry of table.listed) {
      if (state !== undefined && entryState(entry) !== state) continue;
      out.push(entry instanceof Member ? table.info(entry) : table.infoOf(entry.id)!);
    }
    return out;
  }

  /** Our view of one member, or null. */
  member(key: Uint8Array): MemberInfo | null {
    return this.#s.members.infoOf(keyId(key));
  }

  /** Changes what we advertise (new endpoint, NAT type); raises our incarnation. */
  updateLocal(endpoints: Address[], nat: NatTypeCode, now: number): void {
    for (const address of endpoints) assertAddress(address);
    const s = this.#s;
    s.now = Math.max(s.now, now);
    const moved = endpoints.join(" ") !== s.endpoints.join(" ");
    s.endpoints = [...endpoints];
    s.nat = nat;
    reannounce(s, s.incarnation);
    if (moved && s.started) announceMoved(s);
  }

  /** Replaces the certificate our record carries (node.cert reloaded): a new incarnation. */
  setCertificate(certificate: Uint8Array | null, now: number): void {
    const s = this.#s;
    s.now = Math.max(s.now, now);
    s.certificate = certificate === null ? null : certificate.slice();
    reannounce(s, s.incarnation);
  }

  /** Pre-loads records (e.g. a member cache from disk); each is verified like gossip. */
  learn(records: AliveRecord[], now: number): void {
    this.#s.now = Math.max(this.#s.now, now);
    this.#s.members.expect(records.length);
    for (const record of records) onAlive(this.#s, record, false, false);
  }

  /**
   * Re-reads the trust policy (after the trust set changed): every member no longer trusted is
   * forgotten at once and reported as "removed". Returns how many were forgotten.
   */
  revalidateTrust(now: number): number {
    this.#s.now = Math.max(this.#s.now, now);
    return forgetUntrusted(this.#s);
  }

  /**
   * Announces a graceful leave: a signed leave record sent at once to several members and
   * left in the gossip queue. Keep ticking until `pendingBroadcasts` is 0 (or a timeout).
   */
  leave(now: number): void {
    const s = this.#s;
    s.now = Math.max(s.now, now);
    s.leaving = true;
    const record = makeLeaveRecord(s.crypto, s.epoch, s.incarnation);
    broadcast(s, "r" + s.selfId, record.bytes);
    for (const member of randomAlive(s.members, s.random, s.config.gossipNodes * 2, null)) {
      send(s, member, MessageType.Gossip, 0, 0, null, [record.bytes]);
    }
  }

  /**
   * One protocol period: rescheduled first (its length follows Lifeguard's health score),
   * then a fall-back to the seeds if no live member is left, then the next probe.
   */
  #probeTick(): void {
    const s = this.#s;
    s.timers.add(s.now + s.awareness.scale(s.config.probeInterval), () => this.#probeTick());
    if (s.leaving) return;
    checkConnected(s);
    probeNext(s);
  }
}
