/**
 * The member table: the one owner of member state. Every trusted key seen (bounded), the
 * listed members in a dense array for O(1) random picks and sync pages, the dead set the
 * reconnect loop pings, the proven list gossip prefers, the tombstones of forgotten members
 * and the live count N. Each state transition is a method here (as memberlist keeps them all
 * in state.go), so the lists and the count cannot drift from the members' own fields; the
 * protocol parts decide when a transition happens, and own the timers and events around it.
 */

import type { MemberState } from "./events.ts";
import { Member, type Session } from "./member.ts";

/** Hard cap on members (trusted keys seen); the trust set bounds it first. */
const MAX_MEMBERS = 65_536;

/** Forgotten members whose session (replay windows, Hello position) we still remember. */
export const MAX_TOMBSTONES = 65_536;

/** What outlives a forgotten member: enough to refuse everything it sent us before. */
export interface Tombstone {
  /** Its session: the replay window of its datagrams and the position of its last Hello. */
  session: Session;
  /** The highest boot epoch we knew for it. */
  latestEpoch: number;
}

/** Every member one node knows, and every change of their listing and liveness. */
export class MemberTable {
  readonly #byId = new Map<string, Member>();
  readonly #tombstones = new Map<string, Tombstone>();
  readonly #listed: Member[] = [];
  readonly #dead = new Set<Member>();
  readonly #proven: Member[] = [];
  readonly #random: () => number;
  #aliveCount = 0;

  /** An empty table drawing random picks from `random` (uniform in [0, 1)). */
  constructor(random: () => number) {
    this.#random = random;
  }

  /** Members in the table (listed or not), the tombstones excluded. */
  get size(): number {
    return this.#byId.size;
  }

  /** Forgotten members still remembered by their session. */
  get tombstoneCount(): number {
    return this.#tombstones.size;
  }

  /** Listed members currently alive: the N in every log10 N formula. */
  get aliveCount(): number {
    return this.#aliveCount;
  }

  /** Listed members (have a record, not removed), in no particular order. */
  get listed(): readonly Member[] {
    return this.#listed;
  }

  /** Members we declared dead and still try to reconnect to (partition healing). */
  get dead(): ReadonlySet<Member> {
    return this.#dead;
  }

  /** Members whose address was proven (may hold stale entries; pickers drop them lazily). */
  get proven(): readonly Member[] {
    return this.#proven;
  }

  /** The member with key id `id`, if the table holds it. */
  get(id: string): Member | undefined {
    return this.#byId.get(id);
  }

  /** Every member in the table (listed or not). */
  all(): IterableIterator<Member> {
    return this.#byId.values();
  }

  /**
   * The member for a trusted key, created on first sight (restored from its tombstone if we
   * forgot it, so nothing captured before is accepted again); `owned` = `key` may be kept.
   * Null when the table is full.
   */
  memberFor(key: Uint8Array, id: string, owned = false): Member | null {
    const member = this.candidate(key, id, owned);
    if (member !== null) this.keep(member);
    return member;
  }

  /**
   * The member a not yet authenticated datagram claims to come from: the known one, or a new
   * one left out of the table until `keep` (with `--open` every key is trusted, and forged
   * senders must not fill the table and lock real joiners out). Null when the table is full.
   */
  candidate(key: Uint8Array, id: string, owned = false): Member | null {
    const known = this.#byId.get(id);
    if (known !== undefined) return known;
    if (this.#byId.size >= MAX_MEMBERS) return null;
    const member = new Member(owned ? key : key.slice(), id);
    // A forgotten member's session (its replay window) judges the datagram; the tombstone
    // itself stays until the datagram authenticated.
    const tombstone = this.#tombstones.get(id);
    if (tombstone !== undefined) {
      member.session = tombstone.session;
      member.latestEpoch = tombstone.latestEpoch;
    }
    return member;
  }

  /** Puts a member from `candidate` into the table once its datagram authenticated. */
  keep(member: Member): void {
    if (this.#byId.has(member.id)) return;
    this.#byId.set(member.id, member);
    this.#tombstones.delete(member.id);
  }

  /**
   * A member with a record joins (first record, or again after it left or was removed):
   * alive and listed. True when it was not listed before (the caller puts it into the
   * probe round).
   */
  join(member: Member, now: number): boolean {
    member.removed = false;
    this.#setState(member, "alive", now);
    if (member.listIndex >= 0) return false;
    member.listIndex = this.#listed.length;
    this.#listed.push(member);
    this.#recount(member);
    return true;
  }

  /** A suspect or dead member refuted (a newer record): alive again. */
  revive(member: Member, now: number): void {
    this.#setState(member, "alive", now);
  }

  /** Our probe of an alive member failed: suspect. */
  suspect(member: Member, now: number): void {
    this.#setState(member, "suspect", now);
  }

  /** Its suspicion ran out: dead, and pinged now and then while it stays so. */
  declareDead(member: Member, now: number): void {
    this.#setState(member, "dead", now);
  }

  /** It announced a graceful leave. */
  leave(member: Member, now: number): void {
    this.#setState(member, "left", now);
  }

  /**
   * A dead or left member's retention ended: unlisted, but kept (with its version, and in the
   * dead set while it was dead) until it is forgotten.
   */
  remove(member: Member): void {
    member.removed = true;
    this.#unlist(member);
  }

  /**
   * Forgets a member, keeping its session as a tombstone (issue 11, finding 4: a replay
   * window dropped with the member let every captured datagram in again). The oldest
   * tombstone goes first when there are MAX_TOMBSTONES of them.
   */
  forget(member: Member): void {
    this.#byId.delete(member.id);
    this.#dead.delete(member);
    this.#unlist(member);
    if (member.session === null) return;
    this.#tombstones.delete(member.id);
    if (this.#tombstones.size >= MAX_TOMBSTONES) {
      this.#tombstones.delete(this.#tombstones.keys().next().value!);
    }
    this.#tombstones.set(member.id, { session: member.session, latestEpoch: member.latestEpoch });
  }

  /**
   * Its key is no longer trusted: record and version dropped, unlisted, out of the dead set,
   * but kept with its session (see revocation.ts). If trust comes back, its next record is a
   * join.
   */
  revoke(member: Member): void {
    member.record = null;
    member.epoch = 0;
    member.incarnation = 0;
    member.removed = true;
    this.#unlist(member);
    this.#dead.delete(member);
  }

  /** Puts a member whose address was just proven on the proven list (once). */
  addProven(member: Member): void {
    if (member.inProven) return;
    member.inProven = true;
    this.#proven.push(member);
  }

  /**
   * Up to `count` distinct random live members to gossip or push-pull with, proven ones first:
   * a message to an unproven address goes out bare, so a node whose table is mostly unproven (a
   * start from a member cache) gossips over the links it has proven; an unproven pick, made
   * only when too few are proven, gets a verification ping and so grows that set.
   */
  gossipTargets(count: number): Member[] {
    const out: Member[] = [];
    const proven = this.#proven;
    for (let tries = 0; tries < count * 4 && out.length < count && proven.length > 0; tries++) {
      const index = Math.floor(this.#random() * proven.length);
      const member = proven[index];
      if (!member.isListed || member.address === null || member.address !== member.verified) {
        // Stale (forgotten, or moved to an unproven address): drop it in O(1).
        proven[index] = proven[proven.length - 1];
        proven.pop();
        member.inProven = false;
        continue;
      }
      if (member.state === "alive" && !out.includes(member)) out.push(member);
    }
    if (out.length < count) {
      for (const member of this.randomAlive(count, null)) {
        if (out.length >= count) break;
        if (!out.includes(member)) out.push(member);
      }
    }
    return out;
  }

  /** Up to `count` distinct random alive members other than `exclude`. */
  randomAlive(count: number, exclude: Member | null): Member[] {
    const out: Member[] = [];
    const list = this.#listed;
    if (list.length === 0 || count <= 0) return out;
    for (let tries = 0; tries < count * 4 && out.length < count; tries++) {
      const member = list[Math.floor(this.#random() * list.length)];
      if (member === exclude || member.state !== "alive" || out.includes(member)) continue;
      out.push(member);
    }
    return out;
  }

  #setState(member: Member, state: MemberState, now: number): void {
    if (state === "dead") this.#dead.add(member);
    else this.#dead.delete(member);
    member.state = state;
    member.stateSince = now;
    this.#recount(member);
  }

  /** Unlists a member (swap with the last, O(1)). */
  #unlist(member: Member): void {
    const index = member.listIndex;
    if (index >= 0) {
      const last = this.#listed.pop()!;
      if (last !== member) {
        this.#listed[index] = last;
        last.listIndex = index;
      }
      member.listIndex = -1;
    }
    this.#recount(member);
  }

  /** Keeps the live count in step with one member. */
  #recount(member: Member): void {
    const alive = member.listIndex >= 0 && member.state === "alive";
    if (alive !== member.countedAlive) {
      this.#aliveCount += alive ? 1 : -1;
      member.countedAlive = alive;
    }
  }
}
