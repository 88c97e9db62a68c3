/**
 * Random picks among the members one node lists: gossip and push-pull partners (proven paths
 * first) and alive members at large. A pick turns a cold entry into a Member (the caller will
 * change it: send to it, probe it), and a stale proven entry met on the way leaves the list.
 */

import type { Member } from "./member.ts";
import { entryState, type MemberTable } from "./member_table.ts";

/**
 * Up to `count` distinct random live members to gossip or push-pull with, proven ones first:
 * a message to an unproven address goes out bare, so a node whose table is mostly unproven (a
 * start from a member cache) gossips over the links it has proven; an unproven pick, made
 * only when too few are proven, gets a verification ping and so grows that set.
 */
export function gossipTargets(
  table: MemberTable,
  random: () => number,
  count: number,
): Member[] {
  const out: Member[] = [];
  const proven = table.proven;
  for (let tries = 0; tries < count * 4 && out.length < count && proven.length > 0; tries++) {
    const index = Math.floor(random() * proven.length);
    const id = proven[index];
    const at = id === "" ? -1 : table.provenIndex(id);
    if (at < 0) {
      table.dropProven(index);
      continue;
    }
    if (entryState(table.listed[at]) !== "alive") continue;
    const member = table.memberAt(at);
    if (!out.includes(member)) out.push(member);
  }
  if (out.length < count) {
    for (const member of randomAlive(table, random, count, null)) {
      if (out.length >= count) break;
      if (!out.includes(member)) out.push(member);
    }
  }
  return out;
}

/** Up to `count` distinct random alive members other than `exclude`. */
export function randomAlive(
  table: MemberTable,
  random: () => number,
  count: number,
  exclude: Member | null,
): Member[] {
  const out: Member[] = [];
  const list = table.listed;
  if (list.length === 0 || count <= 0) return out;
  for (let tries = 0; tries < count * 4 && out.length < count; tries++) {
    const index = Math.floor(random() * list.length);
    // A cold entry is alive, not `exclude` (a Member) and not yet in `out`.
    const member = table.memberAt(index);
    if (member === exclude || member.state !== "alive" || out.includes(member)) continue;
    out.push(member);
  }
  return out;
}
