/**
 * The receive path: authenticates one datagram and dispatches it. Checks run cheapest first
 * (security invariant 4): header shape, sender ≠ us, trust, receiver epoch, replay window,
 * then AEAD and body decode; nothing changes state before the datagram authenticated.
 */

import { checkAddress, send } from "./outbound.ts";
import { AEAD_TAG_BYTES, HEADER_BYTES, ItemKind, MessageType } from "./constants.ts";
import { openDatagram } from "./datagram.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import { readHeader, type SwimHeader } from "./header.ts";
import { onConnected, onHello, onHelloCookie } from "./join.ts";
import { onGossipedAlive, onItem } from "./membership_updates.ts";
import { decodeBody, FLAG_INTRODUCE } from "./message_body.ts";
import { onAck, onNack, onPing, onPingReq } from "./probing.ts";
import { onSyncRequest, onSyncResponse } from "./push_pull.ts";
import { Member } from "./member.ts";
import { entryAddress, entryIsListed } from "./member_table.ts";
import { notePunchSource, onPunch } from "./punch.ts";
import { decodePunchRequest, type PunchRequest } from "./punch_request.ts";
import { keyId } from "./records.ts";
import { keepRxKey, rxKey } from "./session_keys.ts";
import { NO_SESSION } from "./session_table.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** Org control messages held for the node between two drains. */
const MAX_ORG_INBOX = 1024;

/** Handles one received datagram from `from`; anything that fails a check is counted as dropped. */
export function receiveDatagram(s: SwimState, from: Address, data: Uint8Array): void {
  // Whatever we answer to an unproven `from` must fit in what it sent us (invariant 9).
  s.replyTo = from;
  s.replyBudget = data.length;
  try {
    handle(s, from, data);
  } finally {
    s.replyTo = null;
  }
}

function handle(s: SwimState, from: Address, data: Uint8Array): void {
  let header: SwimHeader;
  try {
    header = readHeader(data);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  const senderId = keyId(header.sender);
  if (senderId === s.selfId) return s.drop("self");
  // Hello and HelloCookie check trust themselves: a stranger may present an org certificate.
  if (header.type === MessageType.Hello) return onHello(s, from, data, header, senderId);
  if (header.type === MessageType.HelloCookie) return onHelloCookie(s, from, data, header);
  if (!s.trust.isTrusted(header.sender, senderId)) return s.drop("untrusted");
  if (data.length < HEADER_BYTES + AEAD_TAG_BYTES) return s.drop("truncated");
  if (header.receiverEpoch !== s.epoch) return s.drop("stale-epoch");
  const member = s.members.candidate(header.sender, senderId);
  if (member === null) return s.drop("member-table-full");
  const sessions = s.members.sessions;
  const slot = member.sessionSlot;
  if (slot !== NO_SESSION && !sessions.fresh(slot, header.senderEpoch, header.counter)) {
    return s.drop("replay");
  }
  const key = rxKey(s, member, header.senderEpoch);
  if (key === null) return s.drop("bad-key");
  const plain = openDatagram(s.crypto, key, data, header.counter, s.crypto.publicKey);
  if (plain === null) return s.drop("auth");
  if (header.type === MessageType.Punch) {
    return receivePunch(s, member, from, header, plain, key);
  }
  let body;
  try {
    body = decodeBody(header.type, plain);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  // Authenticated from here on: only now may state change.
  acceptFrom(s, member, header, key);
  s.stats.accepted++;
  if (header.senderEpoch > member.latestEpoch) member.latestEpoch = header.senderEpoch;
  member.address = from;
  notePunchSource(s, member, from);
  // It moved (or someone spoofs it): the new source is ours to use only once it answers a
  // ping, so ask now rather than a probe round later. First contacts verify on demand.
  if (member.verified !== null && from !== member.verified) checkAddress(s, member, from);
  const aliveBefore = s.members.aliveCount;
  for (const item of body.items) {
    if (item.kind !== ItemKind.Alive) {
      onItem(s, item, member);
      continue;
    }
    // Peeked, not fetched: records heard again must not turn cold members into Members.
    const known = s.members.peek(item.id);
    const wasListed = entryIsListed(known);
    const address = known === undefined ? null : entryAddress(known);
    const changes = s.members.changes;
    onGossipedAlive(s, item, known);
    // A member new to us (or moved) is usable by the daemon once its address answers us: check
    // it now rather than when a probe round reaches it (N periods). Known ones cost nothing.
    // Most items are heard again and change no entry: then the peek above still stands.
    const subject = s.members.changes === changes ? known : s.members.peek(item.id);
    const now = subject === undefined ? null : entryAddress(subject);
    if (entryIsListed(subject) && now !== null && (!wasListed || now !== address)) {
      checkAddress(s, subject instanceof Member ? subject : s.members.get(item.id)!, now);
    }
  }
  // Org decisions are the node's to verify (against its trusted orgs); a flood is cut short.
  for (const control of body.controls) {
    if (s.orgInbox.length < MAX_ORG_INBOX) s.orgInbox.push(control.slice());
  }
  if (!s.connected && !s.leaving) onConnected(s, member, aliveBefore);
  const wantsIntro = (body.flags & FLAG_INTRODUCE) !== 0;
  switch (header.type) {
    case MessageType.Ping:
      onPing(s, member, body.seq, from);
      break;
    case MessageType.PingReq:
      onPingReq(s, member, body.seq, body.target!);
      break;
    case MessageType.Ack:
      onAck(s, member, body.seq);
      break;
    case MessageType.Nack:
      onNack(s, member, body.seq);
      break;
    case MessageType.SyncRequest:
      onSyncRequest(s, member, body.seq, body.flags, from);
      break;
    case MessageType.SyncResponse:
      onSyncResponse(s, member, body.seq, body.flags);
      break;
  }
  // Our record is larger than many requests: unless it fits, it waits for `from` to verify.
  if (wantsIntro && send(s, member, MessageType.Gossip, 0, 0, null, [s.record.bytes]) === 0) {
    member.introPending = true;
  }
}

/**
 * An authenticated Punch datagram: its body is one signed punch request, not a common body (no
 * items ride on it). Same state changes as any authenticated datagram, then punch.ts.
 */
function receivePunch(
  s: SwimState,
  member: Member,
  from: Address,
  header: SwimHeader,
  plain: Uint8Array,
  key: Uint8Array,
): void {
  let request: PunchRequest;
  try {
    request = decodePunchRequest(plain);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  acceptFrom(s, member, header, key);
  s.stats.accepted++;
  if (header.senderEpoch > member.latestEpoch) member.latestEpoch = header.senderEpoch;
  member.address = from;
  onPunch(s, member, request);
}

/** An authenticated datagram: its sender joins the table and its window records the counter. */
function acceptFrom(s: SwimState, member: Member, header: SwimHeader, key: Uint8Array): void {
  s.members.keep(member);
  const fresh = member.sessionSlot === NO_SESSION;
  const slot = s.members.contacts.sessionOf(member);
  if (fresh) keepRxKey(s, slot, header.senderEpoch, key);
  s.members.sessions.accept(slot, header.senderEpoch, header.counter);
}
