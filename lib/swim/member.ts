/**
 * Everything one node keeps about one trusted member: its latest signed record and liveness
 * (the membership part) and the pairwise session (shared secret, per-direction keys,
 * counters, replay window: a slot in the node's SessionTable). Members exist only for trusted keys, so the table is bounded by
 * the trust set.
 */

import type { Address } from "./address.ts";
import type { MemberInfo, MemberState } from "./events.ts";
import { type AliveRecord, NatType, type NatTypeCode } from "./records.ts";
import type { TokenBucket } from "./token_bucket.ts";
import { NO_SESSION } from "./session_table.ts";
import type { Suspicion } from "./suspicion.ts";
import type { Timer } from "./timer_heap.ts";

/** What a member needs only while we sync with it, suspect it or owe it an introduction. */
class Rare {
  /** It asked for our record (INTRODUCE) from an address not yet verified. */
  introPending = false;
  /** A sync request it made from an unverified address, answered once that verifies. */
  syncPending: { cursor: number; flags: number } | null = null;
  /** Bounds the sync pages we send it; created on its first sync request. */
  syncBucket: TokenBucket | null = null;
  /** Cursor of the page we last asked it for in a full sync (the retry resends it). */
  syncCursor = -1;
  /** Retries of that page so far. */
  syncTries = 0;
  /** Our running suspicion of this member. */
  suspicion: Suspicion | null = null;
  /** Timer that ends the suspicion (or the retention). */
  timer: Timer | null = null;
  /** Claimers already heard about the current version (dedupe + Lifeguard confirmations). */
  claims: Set<string> | null = null;
  /** When `state` last changed, while the member is not listed (MemberTable.stateSince). */
  unlistedSince = 0;
}

/** `Member.state` by its 2-bit code. */
const STATES: readonly MemberState[] = ["alive", "suspect", "dead", "left"];
/** The 2-bit code of each state. */
const STATE_CODES: Readonly<Record<MemberState, number>> = {
  alive: 0,
  suspect: 1,
  dead: 2,
  left: 3,
};
const STATE_MASK = 3;
const REMOVED = 4;
const IN_PROVEN = 8;
const COUNTED_ALIVE = 16;
/** `verified` is not null: the punch scan asks this of 64 members a tick, without the miss. */
const HAS_VERIFIED = 32;
/** Our latest probe started after its latest direct ack (MemberTable keeps it in step). */
const PROBE_UNANSWERED = 64;
/** A probe of this member is in flight. */
const PROBING = 128;
/** MemberTable let this object go (its entry is cold again): a stale copy, not the member. */
const COOLED = 256;
/** On the MemberTable's list of Members its tidy-up visits. */
const TIDY_LISTED = 512;
const FLAGS_MASK = 1023;
/** `listIndex + 1` sits above the flags (≤ 65,536 members: 17 bits, a small integer). */
const LIST_SHIFT = 10;

/** The defaults every member without a `Rare` reads. */
const IDLE_RARE: Readonly<Rare> = Object.freeze(new Rare());

/**
 * One trusted member as seen by the local node. `state`, `removed`, `inProven`,
 * `countedAlive` and `listIndex` belong to the MemberTable: only its transitions change them,
 * so its lists and live count always agree with them; so does when `state` last changed
 * (MemberTable.stateSince: a column by listed index while listed, `unlistedSince` otherwise).
 *
 * `verified`, `checkAddress` and `probing` are inline: every Member but a warmed, never
 * contacted one needs them, and an out-of-line part (once ~180 bytes saved per listed member,
 * before cold entries had no Member at all) ended up allocated for every Member.
 */
export class Member {
  /** Its Ed25519 public key. */
  readonly key: Uint8Array;
  /** `key` as a binary string. */
  readonly id: string;
  /** Latest verified alive record (null until we have one). */
  record: AliveRecord | null = null;
  /** Version (epoch, incarnation) of the newest item that set `state` (record or leave). */
  epoch = 0;
  /** See `epoch`. */
  incarnation = 0;
  /** Address of the last authenticated datagram, else the record's first endpoint. */
  address: Address | null = null;
  /** Highest boot epoch we know for the member (record or authenticated header). */
  latestEpoch = 0;
  /**
   * Its slot in the node's SessionTable (replay window, Hello position, keys, RTT, probe and
   * check times), NO_SESSION until the first exchange (most pairs in a big cluster never
   * talk): MemberContacts.sessionOf. Numbers that may be fractional or above 2^31 live in the
   * slot's columns, not here: a Member field holding one costs a boxed number (16 bytes more).
   */
  sessionSlot = NO_SESSION;
  /** The cold entry's record this Member was made from (MemberTable.resolve), else null. */
  warmedFrom: AliveRecord | null = null;
  /**
   * `state`, `removed`, `inProven`, `countedAlive`, `hasVerified`, `probeUnanswered`,
   * `probing`, `cooled`, `tidyListed` and `listIndex + 1` packed in one small integer: every
   * node holds a Member per member, so each field is paid N² times.
   */
  #packed = 0;
  #verified: Address | null = null;
  /** Where our pending verification ping went (MemberContacts.checkSeq has its seq). */
  checkAddress: Address | null = null;
  /** The parts few members need (sync, suspicion, introductions), out of line. */
  #rare: Rare | null = null;

  /** A member for a trusted key. */
  constructor(key: Uint8Array, id: string) {
    this.key = key;
    this.id = id;
  }

  /** Liveness; meaningless while `record` is null (MemberTable's). */
  get state(): MemberState {
    return STATES[this.#packed & STATE_MASK];
  }
  set state(value: MemberState) {
    this.#packed = (this.#packed & ~STATE_MASK) | STATE_CODES[value];
  }

  /** True once a dead/left member's retention ended, or it was revoked (MemberTable's). */
  get removed(): boolean {
    return (this.#packed & REMOVED) !== 0;
  }
  set removed(value: boolean) {
    this.#packed = value ? this.#packed | REMOVED : this.#packed & ~REMOVED;
  }

  /** On the MemberTable's `proven` list. */
  get inProven(): boolean {
    return (this.#packed & IN_PROVEN) !== 0;
  }
  set inProven(value: boolean) {
    this.#packed = value ? this.#packed | IN_PROVEN : this.#packed & ~IN_PROVEN;
  }

  /** Counted in the MemberTable's number of live members. */
  get countedAlive(): boolean {
    return (this.#packed & COUNTED_ALIVE) !== 0;
  }
  set countedAlive(value: boolean) {
    this.#packed = value ? this.#packed | COUNTED_ALIVE : this.#packed & ~COUNTED_ALIVE;
  }

  /** Index in the MemberTable's listed array, -1 when not listed. */
  get listIndex(): number {
    return (this.#packed >> LIST_SHIFT) - 1;
  }
  set listIndex(value: number) {
    this.#packed = (this.#packed & FLAGS_MASK) | ((value + 1) << LIST_SHIFT);
  }

  /**
   * Latest address proven to reach it: a ping we sent there was acked (authenticated, matching
   * random seq). Until `address` equals it, we send `address` nothing larger than a reply to
   * what came from there (invariant 9: no reflection or amplification).
   */
  get verified(): Address | null {
    return this.#verified;
  }
  set verified(value: Address | null) {
    this.#verified = value;
    this.#packed = value !== null ? this.#packed | HAS_VERIFIED : this.#packed & ~HAS_VERIFIED;
  }

  /**
   * The session's lastProbe > lastDirect (MemberTable's, set with either), so the punch scan
   * learns "answered" without reading two session columns.
   */
  get probeUnanswered(): boolean {
    return (this.#packed & PROBE_UNANSWERED) !== 0;
  }
  set probeUnanswered(value: boolean) {
    this.#packed = value ? this.#packed | PROBE_UNANSWERED : this.#packed & ~PROBE_UNANSWERED;
  }

  /** `verified !== null`, read from the packed flags (no trip to the out-of-line part). */
  get hasVerified(): boolean {
    return (this.#packed & HAS_VERIFIED) !== 0;
  }

  /** It asked for our record (INTRODUCE) from an address not yet verified. */
  get introPending(): boolean {
    return (this.#rare ?? IDLE_RARE).introPending;
  }
  set introPending(value: boolean) {
    if (this.#rare !== null || value !== IDLE_RARE.introPending) {
      this.#writableRare().introPending = value;
    }
  }

  /** A sync request it made from an unverified address, answered once that verifies. */
  get syncPending(): { cursor: number; flags: number } | null {
    return (this.#rare ?? IDLE_RARE).syncPending;
  }
  set syncPending(value: { cursor: number; flags: number } | null) {
    if (this.#rare !== null || value !== IDLE_RARE.syncPending) {
      this.#writableRare().syncPending = value;
    }
  }

  /** Bounds the sync pages we send it; created on its first sync request. */
  get syncBucket(): TokenBucket | null {
    return (this.#rare ?? IDLE_RARE).syncBucket;
  }
  set syncBucket(value: TokenBucket | null) {
    if (this.#rare !== null || value !== IDLE_RARE.syncBucket) {
      this.#writableRare().syncBucket = value;
    }
  }

  /** Cursor of the page we last asked it for in a full sync (the retry resends it). */
  get syncCursor(): number {
    return (this.#rare ?? IDLE_RARE).syncCursor;
  }
  set syncCursor(value: number) {
    if (this.#rare !== null || value !== IDLE_RARE.syncCursor) {
      this.#writableRare().syncCursor = value;
    }
  }

  /** Retries of that page so far. */
  get syncTries(): number {
    return (this.#rare ?? IDLE_RARE).syncTries;
  }
  set syncTries(value: number) {
    if (this.#rare !== null || value !== IDLE_RARE.syncTries) {
      this.#writableRare().syncTries = value;
    }
  }

  /** Our running suspicion of this member. */
  get suspicion(): Suspicion | null {
    return (this.#rare ?? IDLE_RARE).suspicion;
  }
  set suspicion(value: Suspicion | null) {
    if (this.#rare !== null || value !== IDLE_RARE.suspicion) {
      this.#writableRare().suspicion = value;
    }
  }

  /** Timer that ends the suspicion (or the retention). */
  get timer(): Timer | null {
    return (this.#rare ?? IDLE_RARE).timer;
  }
  set timer(value: Timer | null) {
    if (this.#rare !== null || value !== IDLE_RARE.timer) {
      this.#writableRare().timer = value;
    }
  }

  /** Claimers already heard about the current version (dedupe + Lifeguard confirmations). */
  get claims(): Set<string> | null {
    return (this.#rare ?? IDLE_RARE).claims;
  }
  set claims(value: Set<string> | null) {
    if (this.#rare !== null || value !== IDLE_RARE.claims) {
      this.#writableRare().claims = value;
    }
  }

  /** When `state` last changed while not listed (MemberTable's: read MemberTable.stateSince). */
  get unlistedSince(): number {
    return (this.#rare ?? IDLE_RARE).unlistedSince;
  }
  set unlistedSince(value: number) {
    if (this.#rare !== null || value !== IDLE_RARE.unlistedSince) {
      this.#writableRare().unlistedSince = value;
    }
  }

  /**
   * MemberTable turned its entry cold again (MemberTable.tidy): whoever still holds this
   * object holds a stale copy; MemberTable.get makes an identical, current one.
   */
  get cooled(): boolean {
    return (this.#packed & COOLED) !== 0;
  }
  set cooled(value: boolean) {
    this.#packed = value ? this.#packed | COOLED : this.#packed & ~COOLED;
  }

  /** On the MemberTable's tidy list (MemberTable's: see `tidy`). */
  get tidyListed(): boolean {
    return (this.#packed & TIDY_LISTED) !== 0;
  }
  set tidyListed(value: boolean) {
    this.#packed = value ? this.#packed | TIDY_LISTED : this.#packed & ~TIDY_LISTED;
  }

  /** It holds an out-of-line part (sync, suspicion, timer, claims...): see `releaseIdle`. */
  get hasRare(): boolean {
    return this.#rare !== null;
  }

  /** A probe of this member is in flight. */
  get probing(): boolean {
    return (this.#packed & PROBING) !== 0;
  }
  set probing(value: boolean) {
    this.#packed = value ? this.#packed | PROBING : this.#packed & ~PROBING;
  }

  /**
   * Drops the out-of-line part once it only repeats the defaults (a sync bucket refilled by
   * `now` counts as none: see TokenBucket.isFull). Memory only: every getter then reads what
   * it read before, and `now` must not run ahead of the clock that later takes tokens.
   */
  releaseIdle(now: number): void {
    const rare = this.#rare;
    if (rare === null) return;
    if (rare.syncBucket !== null && rare.syncBucket.isFull(now)) rare.syncBucket = null;
    if (
      rare.syncBucket === null && !rare.introPending && rare.syncPending === null &&
      rare.syncCursor === -1 && rare.syncTries === 0 && rare.suspicion === null &&
      rare.timer === null && rare.claims === null && rare.unlistedSince === 0
    ) this.#rare = null;
  }

  #writableRare(): Rare {
    return this.#rare ??= new Rare();
  }

  /**
   * We should ask it for its record (INTRODUCE): we have none, or it talks to us from a newer
   * epoch than the record we hold (it restarted after leaving or dying), so gossip about its
   * new record may never reach us.
   */
  get wantsRecord(): boolean {
    return this.record === null || this.latestEpoch > this.epoch;
  }

  /** Listed by the member table: has a record and has not been removed. */
  get isListed(): boolean {
    return this.listIndex >= 0;
  }

  /** A snapshot for events and queries; `rtt` is MemberContacts.rtt's (use MemberTable.info). */
  info(rtt: number): MemberInfo {
    return {
      publicKey: this.key,
      state: this.state,
      epoch: this.epoch,
      incarnation: this.incarnation,
      endpoints: this.record?.endpoints ?? [],
      nat: this.record?.nat ?? (NatType.Unknown as NatTypeCode),
      address: this.address,
      verified: this.verified,
      flags: this.record?.flags ?? 0,
      rtt,
    };
  }
}
