/**
 * Address verification (security invariant 9): an address counts as the member's only after a
 * ping we sent there came back as its authenticated ack with the same random seq. Until then
 * the send path answers that address with nothing larger than what came from it, so neither a
 * spoofed source nor an advertised endpoint can aim our traffic at a bystander.
 */

import { MessageType } from "./constants.ts";
import type { Address } from "./endpoint.ts";
import type { SwimState } from "./engine_state.ts";
import { send } from "./outbound.ts";
import { randomMembers } from "./member_table.ts";
import type { Member } from "./member.ts";
import { answerSync } from "./push_pull.ts";

/**
 * Sends one bare verification ping for `member` to `address`, at most once per probe interval
 * per member: the cost to a bystander named by a liar is one 86-byte datagram per interval.
 */
export function checkAddress(s: SwimState, member: Member, address: Address): void {
  if (address === member.verified || s.now - member.lastCheck < s.config.probeInterval) return;
  member.lastCheck = s.now;
  member.checkSeq = s.nextSeq();
  member.checkAddress = address;
  send(s, member, MessageType.Ping, member.checkSeq, 0, null, [], address);
}

/** An authenticated ack from `member` with `seq`: true when it answered our verification ping. */
export function onCheckAck(s: SwimState, member: Member, seq: number): boolean {
  if (member.checkSeq === 0 || seq !== member.checkSeq || member.checkAddress === null) {
    return false;
  }
  member.checkSeq = 0;
  markVerified(s, member, member.checkAddress);
  return true;
}

/** `address` answered a ping of ours for `member`: record it and send what waited for it. */
export function markVerified(s: SwimState, member: Member, address: Address): void {
  if (!member.inProven) {
    member.inProven = true;
    s.proven.push(member);
  }
  if (member.verified !== address) {
    member.verified = address;
    // The daemon takes WireGuard endpoints from verified addresses only: tell it.
    if (member.isListed) {
      s.events.push({ type: "updated", member: member.info(), restarted: false });
    }
  }
  if (address !== member.address) return;
  if (member.introPending) {
    member.introPending = false;
    send(s, member, MessageType.Gossip, 0, 0, null, [s.record.bytes]);
  }
  const pending = member.syncPending;
  if (pending !== null) {
    member.syncPending = null;
    answerSync(s, member, pending.cursor, pending.flags);
  }
}

/**
 * Up to `count` distinct random live members to gossip or push-pull with, proven ones first: a
 * message to an unproven address goes out bare, so a node whose table is mostly unproven (a start
 * from a member cache) gossips over the links it has proven; an unproven pick, made only when
 * too few are proven, gets a verification ping and so grows that set.
 */
export function gossipTargets(s: SwimState, count: number): Member[] {
  const out: Member[] = [];
  const proven = s.proven;
  for (let tries = 0; tries < count * 4 && out.length < count && proven.length > 0; tries++) {
    const index = Math.floor(s.random() * proven.length);
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
    for (const member of randomMembers(s, count, null)) {
      if (out.length >= count) break;
      if (!out.includes(member)) out.push(member);
    }
  }
  return out;
}
