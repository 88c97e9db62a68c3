/**
 * The member table: the one owner of member state. Every trusted key seen (bounded), the
 * listed members in a dense array for O(1) random picks and sync pages, the dead set the
 * reconnect loop pings, the proven list gossip prefers, the tombstones of forgotten members
 * and the live count N. Each state transition is a method here (as memberlist keeps them all
 * in state.go), so the lists and the count cannot drift from the members' own fields; the
 * protocol parts decide when a transition happens, and own the timers and events around it.
 * Beside it: the exchange history kept in each member's session slot (member_contacts.ts,
 * `contacts`), the tombstones (tombstones.ts) and the random picks over the listed array
 * (member_picks.ts).
 *
 * A member learnt from its first record and untouched since (the common case in a big mesh:
 * a node lists every member and talks to few) is kept "cold": its record stands in the listed
 * array for it, its join time in a column (where listed Members keep theirs too), no Member
 * object at all (~110 bytes saved a pair; at 5,000 members the simulator holds 25 million
 * pairs). Any lookup that may change it (`get`, `candidate`, a random pick) turns it into a
 * Member first; reads that change nothing (`peek`, `recordAt`, `infoOf`) do not.
 */

import type { Address } from "./address.ts";
import {
  COLD_PROVEN,
  coldCode,
  coldInfo,
  coldSlot,
  coldVerified,
  entryAddress,
  entryIsListed,
  entryRecord,
  entryState,
  type ListedEntry,
  warmFrom,
} from "./cold_entry.ts";
import type { MemberInfo, MemberState } from "./events.ts";
import { KeyIndex } from "./key_index.ts";
import { ListedBits } from "./listed_bits.ts";
import { Member } from "./member.ts";
import { MemberContacts } from "./member_contacts.ts";
import type { AliveRecord } from "./records.ts";
import { NO_SESSION, SessionTable } from "./session_table.ts";
import { Tombstones } from "./tombstones.ts";

/** Hard cap on members (trusted keys seen); the trust set bounds it first. */
const MAX_MEMBERS = 65_536;

/**
 * Listed Members each `tidy` visits, at least: a Member warmed again by traffic waits for the
 * next visit to be let go, so the visits come round every ~TIDY_ROUND_PROBES probes.
 */
const TIDY_PER_PROBE = 8;
/** See TIDY_PER_PROBE. */
const TIDY_ROUND_PROBES = 16;

export { entryAddress, entryIsListed, entryRecord, entryState, type ListedEntry };

/** Every member one node knows, and every change of their listing and liveness. */
export class MemberTable {
  readonly #listed: ListedEntry[] = [];
  /** Listed index by key id, for every listed entry (cold or a Member). */
  readonly #index = new KeyIndex(this.#listed);
  /** Members in the table that are not listed (no record yet, removed, revoked): few. */
  readonly #unlisted = new Map<string, Member>();
  /**
   * When each listed entry's state last changed, by listed index (a cold entry's: its join
   * time). A column, not a Member field: times are fractional, and a double field cost every
   * Member a boxed number (24 bytes). Unlisted members keep theirs out of line.
   */
  #since = new Float64Array(64);
  /**
   * By listed index: what a cold entry's Member held beyond its record, once it was let go
   * (`tidy`): its cold code (cold_entry.ts: session slot and four flags), 0 when nothing. 4 bytes an
   * entry instead of a ~140-byte Member for every member ever talked to.
   */
  #cool = new Int32Array(64);
  /** Members something outside the table holds for a while (relays, bursts...): kept warm. */
  readonly #pins = new Map<Member, number>();
  readonly #dead = new Set<Member>();
  /** Key ids ("" for a member forgotten since: its Member is gone, as a stale entry). */
  readonly #proven: string[] = [];
  #aliveCount = 0;
  /**
   * The listed Members `tidy` visits, in no order: each Member made or listed joins once
   * (`tidyListed`) and leaves when it is let go or found unlisted. Walking the listed array
   * instead visited N / 16 entries a probe (312 at 5,000 members), nearly all of them cold.
   */
  readonly #tidyList: Member[] = [];
  /** Where the next tidy-up of `#tidyList` starts. */
  #tidyAt = 0;
  /** Bumped whenever which entry a key id maps to may have changed (see `changes`). */
  #changes = 0;
  /** The sessions of members in the table and of tombstones. */
  readonly sessions = new SessionTable();
  /**
   * By listed index: clear only while the punch scan has nothing to do for the entry (no punch
   * backoff held for it; never pinged directly, or proven and answering). Set on listing, on
   * warming and by every probe, check and direct ack; only the scan clears it (punch.ts).
   */
  readonly punchScan = new ListedBits();
  /** Our exchanges with each member (probes, checks, direct acks, RTT), in its session slot. */
  readonly contacts = new MemberContacts(this.sessions, this.punchScan);
  readonly #tombstones = new Tombstones(this.sessions);

  /** Members in the table (listed or not), the tombstones excluded. */
  get size(): number {
    return this.#index.size + this.#unlisted.size;
  }

  /** Forgotten members still remembered by their session. */
  get tombstoneCount(): number {
    return this.#tombstones.size;
  }

  /**
   * Changes whenever an entry is added, removed, moved, warmed into a Member or unlisted: while
   * it stays the same, `peek` of any id returns the same entry as before (whose own fields may
   * have changed), so a caller may keep what it peeked instead of looking it up again.
   */
  get changes(): number {
    return this.#changes;
  }

  /** Listed members currently alive: the N in every log10 N formula. */
  get aliveCount(): number {
    return this.#aliveCount;
  }

  /** Listed members (have a record, not removed), in no particular order; cold ones as records. */
  get listed(): readonly ListedEntry[] {
    return this.#listed;
  }

  /** Members we declared dead and still try to reconnect to (partition healing). */
  get dead(): ReadonlySet<Member> {
    return this.#dead;
  }

  /**
   * Key ids of members whose address was proven (may hold stale entries, "" among them for
   * forgotten members; pickers drop them lazily). Ids, not Members: a proven member may be
   * cold (`peek` it, `verifiedOf` its entry).
   */
  get proven(): readonly string[] {
    return this.#proven;
  }

  /** The verified address of a listed or peeked entry (a cold one's, from its column). */
  verifiedOf(entry: ListedEntry): Address | null {
    if (entry instanceof Member) return entry.verified;
    const index = this.#index.get(entry.id);
    return index >= 0 ? this.#verifiedAt(entry, index) : null;
  }

  /** The verified address of `entry`, listed at `index`. */
  #verifiedAt(entry: ListedEntry, index: number): Address | null {
    return entry instanceof Member ? entry.verified : coldVerified(entry, this.#cool[index]);
  }

  /**
   * The listed index of `id` when its current address is its proven one (as `verifiedOf` and
   * `entryAddress` of its entry would say, in one index lookup instead of two), else -1.
   */
  provenIndex(id: string): number {
    const index = this.#index.get(id);
    if (index < 0) return -1;
    const entry = this.#listed[index];
    const address = entryAddress(entry);
    return address !== null && address === this.#verifiedAt(entry, index) ? index : -1;
  }

  /** The member with key id `id`, if the table holds it (a cold one becomes a Member). */
  get(id: string): Member | undefined {
    const index = this.#index.get(id);
    if (index < 0) return this.#unlisted.get(id);
    const entry = this.#listed[index];
    return entry instanceof Member ? entry : this.#warm(index);
  }

  /** The member with key id `id` for reading only: a cold one stays its record. */
  peek(id: string): ListedEntry | undefined {
    const index = this.#index.get(id);
    return index < 0 ? this.#unlisted.get(id) : this.#listed[index];
  }

  /** A snapshot of the listed member with key id `id`, or null. */
  infoOf(id: string): MemberInfo | null {
    const index = this.#index.get(id);
    if (index < 0) return null;
    const entry = this.#listed[index];
    if (entry instanceof Member) return this.info(entry);
    const code = this.#cool[index];
    const slot = coldSlot(code);
    return coldInfo(entry, code, slot === NO_SESSION ? -1 : this.sessions.rtt(slot));
  }

  /** The record of the listed entry at `index`. */
  recordAt(index: number): AliveRecord {
    return entryRecord(this.#listed[index])!;
  }

  /** The listed entry at `index` as a Member (a cold one becomes one). */
  memberAt(index: number): Member {
    const entry = this.#listed[index];
    return entry instanceof Member ? entry : this.#warm(index);
  }

  /**
   * Every member in the table (listed ones in listed order, then the others) for reading
   * only: cold ones stay records. A snapshot: the caller may change the table meanwhile.
   */
  entries(): ListedEntry[] {
    return [...this.#listed, ...this.#unlisted.values()];
  }

  /**
   * The listed entries in a fresh array for a new probe round (cold ones as records). Entries
   * of the round before no longer resolve after this, and pin no old record (`resolve`).
   */
  roundOrder(): ListedEntry[] {
    for (const entry of this.#listed) if (entry instanceof Member) entry.warmedFrom = null;
    for (const member of this.#unlisted.values()) member.warmedFrom = null;
    return this.#listed.slice();
  }

  /**
   * The Member a probe-round entry stands for: itself, or for a cold record the member made
   * from it (even if since unlisted, so the round skips it as it would have); null when the
   * record's member is gone.
   */
  resolve(entry: ListedEntry): Member | null {
    if (entry instanceof Member) {
      // Let go since (`tidy`: only a listed member whose record no round anchor differs
      // from): its record now stands for it, and the Member made from that is its successor.
      if (!entry.cooled) return entry;
      entry = entry.record!;
    }
    // The record a Member was warmed from names it (not a map of the round's warmed entries:
    // in a big mesh a round outlasts the run, and such a map held every member warmed, ~40
    // bytes each). A member since forgotten is gone: null, as the round skips it either way.
    const index = this.#index.get(entry.id);
    if (index >= 0) {
      const listed = this.#listed[index];
      if (listed === entry) return this.#warm(index);
      return listed instanceof Member && listed.warmedFrom === entry ? listed : null;
    }
    const member = this.#unlisted.get(entry.id);
    return member !== undefined && member.warmedFrom === entry ? member : null;
  }

  /**
   * Lists a member from its first record without a Member (cold), as `memberFor` + `join`
   * would: alive since `now`. False (nothing done) when the key is known, has a tombstone or
   * the table is full: the caller takes the ordinary path.
   */
  joinCold(record: AliveRecord, now: number): boolean {
    const id = record.id;
    if (this.#has(id) || this.#tombstones.has(id) || this.size >= MAX_MEMBERS) {
      return false;
    }
    const index = this.#listed.length;
    this.#reserve(index);
    this.#changes = (this.#changes + 1) | 0;
    this.#listed.push(record);
    this.#since[index] = now;
    this.#cool[index] = 0;
    this.#index.add(id, index);
    this.punchScan.set(index);
    this.#aliveCount++;
    return true;
  }

  /**
   * Makes room for `count` more listed entries at once (a member cache or a pre-converged
   * start lists thousands in one go: grown step by step, the columns ended up to 1.5× too long).
   */
  expect(count: number): void {
    const needed = this.#listed.length + count;
    if (needed > this.#since.length) this.#resize(needed);
  }

  #reserve(index: number): void {
    // 1.5×, not 2×: 10^8 of these at 10,000 members, and a doubled tail wastes ~4 bytes each.
    if (index >= this.#since.length) this.#resize(Math.ceil(this.#since.length * 1.5));
  }

  /** Grows the listed-index columns to `length` entries. */
  #resize(length: number): void {
    const grown = new Float64Array(length);
    grown.set(this.#since);
    this.#since = grown;
    const cool = new Int32Array(length);
    cool.set(this.#cool);
    this.#cool = cool;
  }

  /** When `member`'s state last changed (0 for a member that never had one). */
  stateSince(member: Member): number {
    const index = member.listIndex;
    return index >= 0 ? this.#since[index] : member.unlistedSince;
  }

  /** Turns the cold entry at listed `index` into the Member it stands for. */
  #warm(index: number): Member {
    const record = this.#listed[index] as AliveRecord;
    this.#changes = (this.#changes + 1) | 0;
    const member = warmFrom(record, this.#cool[index], index);
    this.#cool[index] = 0;
    this.#listed[index] = member;
    // A Member's fields decide the punch scan from now on (a cold entry had nothing for it).
    this.punchScan.set(index);
    this.#tidyLater(member);
    return member;
  }

  /**
   * Turns the Member at listed `index` back into a cold entry when nothing is lost by that
   * (`coldCode`) and nothing outside holds it (a pin): `#warm` makes an identical Member.
   */
  #letGo(index: number, member: Member): void {
    const code = coldCode(member);
    if (code < 0 || this.#pins.has(member)) return;
    this.#changes = (this.#changes + 1) | 0;
    this.#cool[index] = code;
    this.#listed[index] = member.record!;
    member.cooled = true;
  }

  /**
   * Keeps `member` a Member (not let go by `tidy`) until as many `unpin`s: for holders outside
   * the table that compare or change the object later (relays, punch bursts, timers).
   */
  pin(member: Member): void {
    this.#pins.set(member, (this.#pins.get(member) ?? 0) + 1);
  }

  /** Ends one `pin` of `member`. */
  unpin(member: Member): void {
    const count = this.#pins.get(member) ?? 0;
    if (count <= 1) this.#pins.delete(member);
    else this.#pins.set(member, count - 1);
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
    const known = this.get(id);
    if (known !== undefined) return known;
    if (this.size >= MAX_MEMBERS) return null;
    const member = new Member(owned ? key : key.slice(), id);
    // A forgotten member's session (its replay window) judges the datagram; the tombstone
    // itself stays until the datagram authenticated.
    const tombstone = this.#tombstones.get(id);
    if (tombstone !== undefined) {
      member.sessionSlot = tombstone.session;
      member.latestEpoch = tombstone.latestEpoch;
    }
    return member;
  }

  /**
   * Lets the next few listed Members drop what they hold out of line only at its defaults
   * (mostly sync buckets long refilled: ~150 bytes each, otherwise kept for the rest of the
   * run), and then the Members themselves where `mayLetGo` agrees and nothing else holds them
   * (a member probed or talked to once stayed a ~140-byte Member for the rest of the run:
   * ~330 bytes a talked pair with its pointers). Called once a probe (TIDY_PER_PROBE says
   * how many it visits), and only where no caller holds a Member it got from the table (a
   * Member let go is stale: see `Member.cooled`).
   */
  tidy(now: number, mayLetGo: (member: Member) => boolean): void {
    const members = this.#tidyList;
    let count = Math.min(
      Math.max(TIDY_PER_PROBE, Math.ceil(members.length / TIDY_ROUND_PROBES)),
      members.length,
    );
    let at = this.#tidyAt;
    for (; count > 0 && members.length > 0; count--) {
      if (at >= members.length) at = 0;
      const member = members[at];
      const index = member.listIndex;
      if (index >= 0) {
        member.releaseIdle(now);
        if (mayLetGo(member)) this.#letGo(index, member);
        if (!member.cooled) {
          at++;
          continue;
        }
      }
      // Let go or unlisted: off the list (the last one takes its place, visited next).
      member.tidyListed = false;
      members[at] = members[members.length - 1];
      members.pop();
    }
    this.#tidyAt = at;
  }

  /** Puts a listed Member on the tidy list (once). */
  #tidyLater(member: Member): void {
    if (member.tidyListed) return;
    member.tidyListed = true;
    this.#tidyList.push(member);
  }

  /** A snapshot of `member` for events and queries. */
  info(member: Member): MemberInfo {
    return member.info(this.contacts.rtt(member));
  }

  /** Puts a member from `candidate` into the table once its datagram authenticated. */
  keep(member: Member): void {
    // A listed Member is in the table: no index lookup (this runs for every datagram).
    if (member.listIndex >= 0 || this.#has(member.id)) return;
    this.#changes = (this.#changes + 1) | 0;
    this.#unlisted.set(member.id, member);
    this.#tombstones.revive(member.id);
  }

  #has(id: string): boolean {
    return this.#index.get(id) >= 0 || this.#unlisted.has(id);
  }

  /**
   * A member with a record joins (first record, or again after it left or was removed):
   * alive and listed. True when it was not listed before (the caller puts it into the
   * probe round).
   */
  join(member: Member, now: number): boolean {
    member.removed = false;
    const listing = member.listIndex < 0;
    if (listing) {
      // Listed first, so the state change below lands in the listed column.
      const index = this.#listed.length;
      this.#reserve(index);
      this.#changes = (this.#changes + 1) | 0;
      member.listIndex = index;
      this.#cool[index] = 0;
      this.#listed.push(member);
      this.#unlisted.delete(member.id);
      this.#index.add(member.id, index);
      this.punchScan.set(index);
      this.#tidyLater(member);
      member.unlistedSince = 0;
    }
    this.#setState(member, "alive", now);
    return listing;
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
   * tombstone goes first when there are too many (tombstones.ts).
   */
  forget(member: Member): void {
    this.#changes = (this.#changes + 1) | 0;
    this.#dead.delete(member);
    this.#unlist(member);
    this.#unlisted.delete(member.id);
    if (member.inProven) {
      // Its proven entry named this Member, never its successor: keep it a stale one.
      const at = this.#proven.indexOf(member.id);
      if (at >= 0) this.#proven[at] = "";
    }
    if (member.sessionSlot === NO_SESSION) return;
    this.contacts.forgetTries(member);
    this.#tombstones.bury(member.id, member.sessionSlot, member.latestEpoch);
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
    this.#proven.push(member.id);
  }

  /**
   * Takes the stale entry at `at` off the proven list in O(1) (the last takes its place), and
   * its member, if still in the table, off the proven flag: forgotten, or moved to an unproven
   * address (`provenIndex` says -1).
   */
  dropProven(at: number): void {
    const proven = this.#proven;
    const id = proven[at];
    proven[at] = proven[proven.length - 1];
    proven.pop();
    if (id === "") return;
    const index = this.#index.get(id);
    const entry = index >= 0 ? this.#listed[index] : this.#unlisted.get(id);
    if (entry instanceof Member) entry.inProven = false;
    else if (entry !== undefined) this.#cool[index] &= ~COLD_PROVEN;
  }

  #setState(member: Member, state: MemberState, now: number): void {
    if (state === "dead") this.#dead.add(member);
    else this.#dead.delete(member);
    member.state = state;
    if (member.listIndex >= 0) this.#since[member.listIndex] = now;
    else member.unlistedSince = now;
    this.#recount(member);
  }

  /** Unlists a member (swap with the last, O(1)). */
  #unlist(member: Member): void {
    const index = member.listIndex;
    if (index >= 0) {
      this.#changes = (this.#changes + 1) | 0;
      member.unlistedSince = this.#since[index];
      this.#index.delete(member.id);
      const lastIndex = this.#listed.length - 1;
      const last = this.#listed[lastIndex];
      if (last !== member) {
        // Re-pointed while the last slot still holds it: the index reads ids from the list.
        this.#index.move(last.id, index);
        this.#listed[index] = last;
        if (last instanceof Member) last.listIndex = index;
        this.#since[index] = this.#since[lastIndex];
        this.#cool[index] = this.#cool[lastIndex];
      }
      this.punchScan.move(lastIndex, index);
      this.#listed.pop();
      member.listIndex = -1;
      this.#unlisted.set(member.id, member);
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
