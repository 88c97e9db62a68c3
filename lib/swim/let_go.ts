/**
 * When a node may let go of a member's Member object (MemberTable.tidy): besides what the table
 * checks itself (nothing out of line, no probe, no pin, fields it can restore), the protocol
 * parts that treat a cold entry as "never talked to" must see no difference. The punch scan
 * reads a cold entry as a member with nothing verified and nothing tried (punch.ts): so only a
 * member whose answer cannot change while it is cold goes.
 */

import type { SwimState } from "./engine_state.ts";
import type { Member } from "./member.ts";

/** True when letting `member` go cannot change what the protocol does next. */
export function mayLetGo(s: SwimState, member: Member): boolean {
  if (s.punch.pairs.has(member.id) || s.fullSyncWith === member.id) return false;
  const record = member.record;
  if (record === null || record.endpoints.length === 0) return true;
  // A proven path our latest probe reached: the scan wants no punch, warm or cold, until a
  // probe goes unanswered (which takes a Member). Otherwise only an untried member: the scan
  // waits for a first direct ping either way.
  if (member.hasVerified) return !member.probeUnanswered;
  return s.members.contacts.lastPinged(member) === -Infinity;
}
