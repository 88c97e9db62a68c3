/**
 * What one node remembers of its exchanges with each member: when it last probed it, checked
 * an address of it and heard from it directly, the seq of its pending check and its RTT. These
 * live in the member's SessionTable slot (opened on first use, so the pairs that never talk,
 * most of a big mesh, hold none) and keep the member's `probeUnanswered` flag and punch-scan bit
 * in step with them. Part of the MemberTable (`members.contacts`), which owns both tables.
 */

import type { ListedBits } from "./listed_bits.ts";
import type { Member } from "./member.ts";
import { NO_SESSION, type SessionTable } from "./session_table.ts";

/** The per-member exchange history of one node, over its session slots. */
export class MemberContacts {
  readonly #sessions: SessionTable;
  readonly #punchScan: ListedBits;

  /** Contacts kept in `sessions`; a probe, check or direct ack sets the member's `punchScan` bit. */
  constructor(sessions: SessionTable, punchScan: ListedBits) {
    this.#sessions = sessions;
    this.#punchScan = punchScan;
  }

  /**
   * The session slot of a member in the table, opened on first use. Only for members kept in
   * the table: a candidate's datagram is judged without one, so forged senders open none.
   */
  sessionOf(member: Member): number {
    if (member.sessionSlot === NO_SESSION) member.sessionSlot = this.#sessions.open();
    return member.sessionSlot;
  }

  /** When we last started a probe of `member` (-Infinity: never). */
  lastProbe(member: Member): number {
    const slot = member.sessionSlot;
    return slot === NO_SESSION ? -Infinity : this.#sessions.lastProbe(slot);
  }

  /** Records the start of a probe of `member` (a member in the table). */
  noteProbe(member: Member, now: number): void {
    const slot = this.sessionOf(member);
    this.#sessions.setLastProbe(slot, now);
    member.probeUnanswered = !(now <= this.#sessions.lastDirect(slot));
    if (member.listIndex >= 0) this.#punchScan.set(member.listIndex);
  }

  /** When we last sent `member` a verification ping (-Infinity: never). */
  lastCheck(member: Member): number {
    const slot = member.sessionSlot;
    return slot === NO_SESSION ? -Infinity : this.#sessions.lastCheck(slot);
  }

  /** When we last pinged `member` directly, by a probe or a verification ping (-Infinity: never). */
  lastPinged(member: Member): number {
    const slot = member.sessionSlot;
    if (slot === NO_SESSION) return -Infinity;
    return Math.max(this.#sessions.lastProbe(slot), this.#sessions.lastCheck(slot));
  }

  /** Records a verification ping to `member` (a member in the table). */
  noteCheck(member: Member, now: number): void {
    this.#sessions.setLastCheck(this.sessionOf(member), now);
    if (member.listIndex >= 0) this.#punchScan.set(member.listIndex);
  }

  /** Seq of our pending verification ping to `member` (0: none). */
  checkSeq(member: Member): number {
    const slot = member.sessionSlot;
    return slot === NO_SESSION ? 0 : this.#sessions.checkSeq(slot);
  }

  /** Records (or with 0 clears) the seq of a verification ping to `member` (in the table). */
  setCheckSeq(member: Member, seq: number): void {
    if (seq === 0 && member.sessionSlot === NO_SESSION) return;
    this.#sessions.setCheckSeq(this.sessionOf(member), seq);
  }

  /** Smoothed RTT of our direct probes to `member` (ms; -1 until measured). */
  rtt(member: Member): number {
    const slot = member.sessionSlot;
    return slot === NO_SESSION ? -1 : this.#sessions.rtt(slot);
  }

  /** Records `member`'s smoothed RTT (a member in the table). */
  setRtt(member: Member, rtt: number): void {
    this.#sessions.setRtt(this.sessionOf(member), rtt);
  }

  /**
   * When `member` last acked a ping we sent straight to it (-Infinity: never). Kept with the
   * session, so a member restored from its tombstone still has it, as a map by key had.
   */
  lastDirect(member: Member): number {
    const slot = member.sessionSlot;
    return slot === NO_SESSION ? -Infinity : this.#sessions.lastDirect(slot);
  }

  /** Records a direct ack from `member` (a member in the table). */
  noteDirect(member: Member, now: number): void {
    const slot = this.sessionOf(member);
    this.#sessions.setLastDirect(slot, now);
    member.probeUnanswered = !(this.#sessions.lastProbe(slot) <= now);
    if (member.listIndex >= 0) this.#punchScan.set(member.listIndex);
  }

  /**
   * Forgets all but the last direct ack of a member being forgotten: a member restored from its
   * tombstone starts untried (punch.ts keyed the last direct ack by id, so it outlived the Member).
   */
  forgetTries(member: Member): void {
    const slot = member.sessionSlot;
    if (slot === NO_SESSION) return;
    this.#sessions.setLastProbe(slot, -Infinity);
    member.probeUnanswered = false;
    this.#sessions.setLastCheck(slot, -Infinity);
    this.#sessions.setCheckSeq(slot, 0);
    this.#sessions.setRtt(slot, -1);
  }
}
