/**
 * Address verification (security invariant 9): an address counts as the member's only after a
 * ping we sent there came back as its authenticated ack with the same random seq. Until then
 * the send path answers that address with nothing larger than what came from it, so neither a
 * spoofed source nor an advertised endpoint can aim our traffic at a bystander.
 */

import { MessageType } from "./constants.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import { send } from "./outbound.ts";
import type { Member } from "./member.ts";
import { answerSync } from "./push_pull.ts";

/** An authenticated ack from `member` with `seq`: true when it answered our verification ping. */
export function onCheckAck(s: SwimState, member: Member, seq: number): boolean {
  const pending = s.members.contacts.checkSeq(member);
  if (pending === 0 || seq !== pending || member.checkAddress === null) return false;
  s.members.contacts.setCheckSeq(member, 0);
  markVerified(s, member, member.checkAddress);
  return true;
}

/** `address` answered a ping of ours for `member`: record it and send what waited for it. */
export function markVerified(s: SwimState, member: Member, address: Address): void {
  s.members.addProven(member);
  // Hole punching starts again when a proven path stops answering (punch.ts).
  s.members.contacts.noteDirect(member, s.now);
  if (member.verified !== address) {
    member.verified = address;
    // The daemon takes WireGuard endpoints from verified addresses only: tell it.
    if (member.isListed) {
      s.events.push({ type: "updated", member: s.members.info(member), restarted: false });
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
