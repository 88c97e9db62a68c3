/**
 * Address verification (security invariant 9): an address counts as the peer's only after a
 * ping we sent there came back as its authenticated ack with the same random seq. Until then
 * the send path answers that address with nothing larger than what came from it, so neither a
 * spoofed source nor an advertised endpoint can aim our traffic at a bystander.
 */

import { MessageType } from "./constants.ts";
import type { Address } from "./endpoint.ts";
import type { SwimState } from "./engine_state.ts";
import { send } from "./outbound.ts";
import { randomMembers } from "./member_table.ts";
import type { Peer } from "./peer.ts";
import { answerSync } from "./push_pull.ts";

/**
 * Sends one bare verification ping for `peer` to `address`, at most once per probe interval
 * per peer: the cost to a bystander named by a liar is one 86-byte datagram per interval.
 */
export function checkAddress(s: SwimState, peer: Peer, address: Address): void {
  if (address === peer.verified || s.now - peer.lastCheck < s.config.probeInterval) return;
  peer.lastCheck = s.now;
  peer.checkSeq = s.nextSeq();
  peer.checkAddress = address;
  send(s, peer, MessageType.Ping, peer.checkSeq, 0, null, [], address);
}

/** An authenticated ack from `peer` with `seq`: true when it answered our verification ping. */
export function onCheckAck(s: SwimState, peer: Peer, seq: number): boolean {
  if (peer.checkSeq === 0 || seq !== peer.checkSeq || peer.checkAddress === null) return false;
  peer.checkSeq = 0;
  markVerified(s, peer, peer.checkAddress);
  return true;
}

/** `address` answered a ping of ours for `peer`: record it and send what waited for it. */
export function markVerified(s: SwimState, peer: Peer, address: Address): void {
  if (!peer.inProven) {
    peer.inProven = true;
    s.proven.push(peer);
  }
  if (peer.verified !== address) {
    peer.verified = address;
    // The daemon takes WireGuard endpoints from verified addresses only: tell it.
    if (peer.isMember) s.events.push({ type: "updated", member: peer.info(), restarted: false });
  }
  if (address !== peer.address) return;
  if (peer.introPending) {
    peer.introPending = false;
    send(s, peer, MessageType.Gossip, 0, 0, null, [s.record.bytes]);
  }
  const pending = peer.syncPending;
  if (pending !== null) {
    peer.syncPending = null;
    answerSync(s, peer, pending.cursor, pending.flags);
  }
}

/**
 * Up to `count` distinct random live members to gossip or push-pull with, proven ones first: a
 * message to an unproven address goes out bare, so a node whose table is mostly unproven (a start
 * from a member cache) gossips over the links it has proven; an unproven pick, made only when
 * too few are proven, gets a verification ping and so grows that set.
 */
export function gossipTargets(s: SwimState, count: number): Peer[] {
  const out: Peer[] = [];
  const proven = s.proven;
  for (let tries = 0; tries < count * 4 && out.length < count && proven.length > 0; tries++) {
    const index = Math.floor(s.random() * proven.length);
    const peer = proven[index];
    if (!peer.isMember || peer.address === null || peer.address !== peer.verified) {
      // Stale (forgotten, or moved to an unproven address): drop it in O(1).
      proven[index] = proven[proven.length - 1];
      proven.pop();
      peer.inProven = false;
      continue;
    }
    if (peer.state === "alive" && !out.includes(peer)) out.push(peer);
  }
  if (out.length < count) {
    for (const peer of randomMembers(s, count, null)) {
      if (out.length >= count) break;
      if (!out.includes(peer)) out.push(peer);
    }
  }
  return out;
}
