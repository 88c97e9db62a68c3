/**
 * The member table: every trusted member seen, by key (bounded), and the listed members kept in
 * a dense array for O(1) random picks and sync pages.
 */

import type { SwimState } from "./engine_state.ts";
import { Member } from "./member.ts";

/** Hard cap on members (trusted keys seen); the trust set bounds it first. */
const MAX_MEMBERS = 65_536;

/** Forgotten members whose session (replay windows, Hello position) we still remember. */
export const MAX_TOMBSTONES = 65_536;

/**
 * The member for a trusted key, created on first sight (restored from its tombstone if we
 * forgot it, so nothing captured before is accepted again); `owned` = `key` may be kept.
 */
export function memberFor(s: SwimState, key: Uint8Array, id: string, owned = false): Member | null {
  const member = candidateMember(s, key, id, owned);
  if (member !== null) keepMember(s, member);
  return member;
}

/**
 * Forgets a removed member, keeping its session as a tombstone (issue 11, finding 4: a replay
 * window dropped with the member let every captured datagram in again). The oldest tombstone
 * goes first when there are MAX_TOMBSTONES of them.
 */
export function forgetMember(s: SwimState, member: Member): void {
  s.members.delete(member.id);
  s.dead.delete(member);
  listRemove(s, member);
  if (member.session === null) return;
  s.tombstones.delete(member.id);
  if (s.tombstones.size >= MAX_TOMBSTONES) {
    s.tombstones.delete(s.tombstones.keys().next().value!);
  }
  s.tombstones.set(member.id, { session: member.session, latestEpoch: member.latestEpoch });
}

/**
 * The member a not yet authenticated datagram claims to come from: the known one, or a new one
 * left out of the table until `keepMember` (with `--open` every key is trusted, and forged
 * senders must not fill the table and lock real joiners out). Null when the table is full.
 */
export function candidateMember(
  s: SwimState,
  key: Uint8Array,
  id: string,
  owned = false,
): Member | null {
  const known = s.members.get(id);
  if (known !== undefined) return known;
  if (s.members.size >= MAX_MEMBERS) return null;
  const member = new Member(owned ? key : key.slice(), id);
  // A forgotten member's session (its replay window) judges the datagram; the tombstone itself
  // stays until the datagram authenticated.
  const tombstone = s.tombstones.get(id);
  if (tombstone !== undefined) {
    member.session = tombstone.session;
    member.latestEpoch = tombstone.latestEpoch;
  }
  return member;
}

/** Puts a member from `candidateMember` into the table once its datagram authenticated. */
export function keepMember(s: SwimState, member: Member): void {
  if (s.members.has(member.id)) return;
  s.members.set(member.id, member);
  s.tombstones.delete(member.id);
}

/** Lists a member and puts it into the current probe round. */
export function listAdd(s: SwimState, member: Member): void {
  if (member.listIndex >= 0) return;
  member.listIndex = s.list.length;
  s.list.push(member);
  // New members go to a random place in the current round, as memberlist does.
  const order = s.probeOrder;
  const at = s.probeIndex + Math.floor(s.random() * (order.length - s.probeIndex + 1));
  order.push(member);
  if (at < order.length - 1) [order[at], order[order.length - 1]] = [member, order[at]];
}

/** Unlists a member (swap with the last, O(1)). */
export function listRemove(s: SwimState, member: Member): void {
  const index = member.listIndex;
  if (index < 0) return;
  const last = s.list.pop()!;
  if (last !== member) {
    s.list[index] = last;
    last.listIndex = index;
  }
  member.listIndex = -1;
}

/** Up to `count` distinct random alive members other than `exclude`. */
export function randomMembers(s: SwimState, count: number, exclude: Member | null): Member[] {
  const out: Member[] = [];
  const list = s.list;
  if (list.length === 0 || count <= 0) return out;
  for (let tries = 0; tries < count * 4 && out.length < count; tries++) {
    const member = list[Math.floor(s.random() * list.length)];
    if (member === exclude || member.state !== "alive" || out.includes(member)) continue;
    out.push(member);
  }
  return out;
}
