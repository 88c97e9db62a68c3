/**
 * The receive path: authenticates one datagram and dispatches it. Checks run cheapest first
 * (security invariant 4): header shape, sender ≠ us, trust, receiver epoch, replay window,
 * then AEAD and body decode; nothing changes state before the datagram authenticated.
 */

import { HEADER_BYTES, MessageType } from "./constants.ts";
import { associatedData } from "./datagram.ts";
import type { Address } from "./endpoint.ts";
import type { SwimState } from "./engine_state.ts";
import { readHeader, type SwimHeader } from "./header.ts";
import { onConnected, onHello } from "./join.ts";
import { peerFor } from "./member_table.ts";
import { onItem } from "./membership_updates.ts";
import { decodeBody, FLAG_INTRODUCE } from "./message_body.ts";
import { send } from "./outbound.ts";
import { onAck, onNack, onPing, onPingReq } from "./probing.ts";
import { onSyncRequest, onSyncResponse } from "./push_pull.ts";
import { keyId } from "./records.ts";
import { rxKey } from "./session_keys.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** Handles one received datagram from `from`; anything that fails a check is counted as dropped. */
export function receiveDatagram(s: SwimState, from: Address, data: Uint8Array): void {
  let header: SwimHeader;
  try {
    header = readHeader(data);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  const senderId = keyId(header.sender);
  if (senderId === s.selfId) return s.drop("self");
  if (!s.trust.isTrusted(header.sender, senderId)) return s.drop("untrusted");
  if (header.type === MessageType.Hello) return onHello(s, from, data, header, senderId);
  if (data.length < HEADER_BYTES + 16) return s.drop("truncated");
  if (header.receiverEpoch !== s.epoch) return s.drop("stale-epoch");
  const peer = peerFor(s, header.sender, senderId);
  if (peer === null) return s.drop("peer-table-full");
  const session = peer.sessionState();
  if (!session.replay.check(header.senderEpoch, header.counter)) return s.drop("replay");
  const key = rxKey(s, peer, header.senderEpoch);
  if (key === null) return s.drop("bad-key");
  const aad = associatedData(header.raw, s.crypto.publicKey);
  const plain = s.crypto.open(key, header.counter, aad, data.subarray(HEADER_BYTES));
  if (plain === null) return s.drop("auth");
  let body;
  try {
    body = decodeBody(header.type, plain);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  // Authenticated from here on: only now may state change.
  session.replay.accept(header.senderEpoch, header.counter);
  s.stats.accepted++;
  if (header.senderEpoch > peer.peerEpoch) peer.peerEpoch = header.senderEpoch;
  peer.address = from;
  for (const item of body.items) onItem(s, item, peer);
  if (!s.connected && !s.leaving) onConnected(s, peer);
  const wantsIntro = (body.flags & FLAG_INTRODUCE) !== 0;
  switch (header.type) {
    case MessageType.Ping:
      onPing(s, peer, body.seq, from);
      break;
    case MessageType.PingReq:
      onPingReq(s, peer, body.seq, body.target!);
      break;
    case MessageType.Ack:
      onAck(s, peer, body.seq);
      break;
    case MessageType.Nack:
      onNack(s, peer, body.seq);
      break;
    case MessageType.SyncRequest:
      onSyncRequest(s, peer, body.seq, body.flags);
      break;
    case MessageType.SyncResponse:
      onSyncResponse(s, peer, body.seq, body.flags);
      break;
  }
  if (wantsIntro) send(s, peer, MessageType.Gossip, 0, 0, null, [s.record.bytes]);
}
