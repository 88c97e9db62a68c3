/**
 * Cold entries of the member table: a listed member without a Member object, its record
 * standing in the listed array for it. Either never touched since its first record, or a
 * Member let go (MemberTable.tidy) whose other fields fit in one small integer, its "cold
 * code": the session slot and four flags, each of which only says "null, or the address"
 * (`coldCode`). `warmFrom` makes the Member again, field for field.
 */

import type { Address } from "./address.ts";
import type { MemberInfo, MemberState } from "./events.ts";
import { Member } from "./member.ts";
import type { AliveRecord } from "./records.ts";
import { NO_SESSION } from "./session_table.ts";

/** The Member was on the proven list. */
export const COLD_PROVEN = 1;
/** Its probeUnanswered flag. */
const COLD_UNANSWERED = 2;
/** Its verified address was its address (else null). */
const COLD_VERIFIED = 4;
/** Its checkAddress was its address (else null). */
const COLD_CHECK = 8;
/** `(slot + 1)` sits above the flags; 0 as a whole: nothing beyond the record. */
const COLD_SHIFT = 4;

/** A listed member: its Member, or while it is cold its record. */
export type ListedEntry = Member | AliveRecord;

/** True when a listed or peeked entry is listed (a cold entry always is). */
export function entryIsListed(entry: ListedEntry | undefined): boolean {
  if (entry === undefined) return false;
  return entry instanceof Member ? entry.isListed : true;
}

/** An entry's liveness (a cold entry is alive). */
export function entryState(entry: ListedEntry): MemberState {
  return entry instanceof Member ? entry.state : "alive";
}

/** An entry's address (a cold entry's is its record's first endpoint, as onAlive sets it). */
export function entryAddress(entry: ListedEntry): Address | null {
  if (entry instanceof Member) return entry.address;
  return entry.endpoints.length > 0 ? entry.endpoints[0] : null;
}

/** An entry's record (a cold entry is its record). */
export function entryRecord(entry: ListedEntry): AliveRecord | null {
  return entry instanceof Member ? entry.record : entry;
}

/** A cold entry's verified address, from its cold code. */
export function coldVerified(record: AliveRecord, code: number): Address | null {
  return (code & COLD_VERIFIED) !== 0 ? entryAddress(record) : null;
}

/** A cold code's session slot (NO_SESSION for 0). */
export function coldSlot(code: number): number {
  return (code >> COLD_SHIFT) - 1;
}

/** What `Member.info()` would say of a cold entry (`rtt`: its session's, -1 without one). */
export function coldInfo(record: AliveRecord, code: number, rtt: number): MemberInfo {
  return {
    publicKey: record.subject,
    state: "alive",
    epoch: record.epoch,
    incarnation: record.incarnation,
    endpoints: record.endpoints,
    nat: record.nat,
    address: entryAddress(record),
    verified: coldVerified(record, code),
    flags: record.flags,
    rtt,
  };
}

/**
 * The cold code a listed, alive Member with nothing out of line goes back to, or -1 when its
 * record and a code cannot say all it holds (a version or address of its own, a verified or
 * checked address elsewhere, flags without a session). Whether something outside still needs
 * the object is the caller's to know.
 */
export function coldCode(member: Member): number {
  const record = member.record;
  if (
    record === null || member.state !== "alive" || member.probing || member.hasRare ||
    member.epoch !== record.epoch || member.incarnation !== record.incarnation ||
    member.latestEpoch !== record.epoch
  ) return -1;
  // The probe round may name the member by the record it was warmed from (MemberTable.resolve).
  if (member.warmedFrom !== null && member.warmedFrom !== record) return -1;
  const address = entryAddress(record);
  if (member.address !== address) return -1;
  const verified = member.verified;
  if (verified !== null && verified !== address) return -1;
  const check = member.checkAddress;
  if (check !== null && check !== address) return -1;
  const slot = member.sessionSlot;
  const flags = (member.inProven ? COLD_PROVEN : 0) |
    (member.probeUnanswered ? COLD_UNANSWERED : 0) |
    (verified !== null ? COLD_VERIFIED : 0) | (check !== null ? COLD_CHECK : 0);
  if (slot === NO_SESSION) return flags === 0 ? 0 : -1;
  return ((slot + 1) << COLD_SHIFT) | flags;
}

/**
 * The Member a cold entry at listed `index` stands for, as `coldCode` took it apart (or as
 * onAlive makes one from a first record, for code 0).
 */
export function warmFrom(record: AliveRecord, code: number, index: number): Member {
  const member = new Member(record.subject, record.id);
  member.record = record;
  member.epoch = record.epoch;
  member.incarnation = record.incarnation;
  member.latestEpoch = record.epoch;
  member.address = entryAddress(record);
  member.listIndex = index;
  member.countedAlive = true;
  member.warmedFrom = record;
  if (code !== 0) {
    member.sessionSlot = coldSlot(code);
    if ((code & COLD_VERIFIED) !== 0) member.verified = member.address;
    if ((code & COLD_CHECK) !== 0) member.checkAddress = member.address;
    member.inProven = (code & COLD_PROVEN) !== 0;
    member.probeUnanswered = (code & COLD_UNANSWERED) !== 0;
  }
  return member;
}
