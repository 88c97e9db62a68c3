/**
 * The send path: builds a message body, fills what room is left with pending updates
 * (piggybacking is how SWIM disseminates), seals it for the peer and hands it to the outbox.
 */

import { sealDatagram } from "./datagram.ts";
import type { Address } from "./endpoint.ts";
import type { SwimState } from "./engine_state.ts";
import { encodeBody, FLAG_INTRODUCE, itemBudget } from "./message_body.ts";
import type { Peer } from "./peer.ts";
import { retransmitLimit } from "./profiles.ts";
import { txKey } from "./session_keys.ts";

/**
 * Sends a `type` message to `peer` (at `to`, else its known address) carrying `extra` items
 * first and, when `piggyback`, queued updates in the room left. Silently skipped while we
 * know no address or epoch for the peer.
 */
export function send(
  s: SwimState,
  peer: Peer,
  type: number,
  seq: number,
  flags: number,
  target: Uint8Array | null,
  extra: Uint8Array[],
  to: Address | null = null,
  piggyback = true,
): void {
  const address = to ?? peer.address ?? peer.record?.endpoints[0] ?? null;
  if (address === null || peer.peerEpoch === 0) return;
  const key = txKey(s, peer);
  if (key === null) return;
  let budget = itemBudget(type);
  const items: Uint8Array[] = [];
  for (const item of extra) {
    if (item.length > budget || items.length >= 255) break;
    items.push(item);
    budget -= item.length;
  }
  if (piggyback && s.queue.size > 0) {
    const limit = retransmitLimit(s.config.retransmitMult, s.aliveCount + 1);
    for (const item of s.queue.take(budget, limit, 255 - items.length)) items.push(item);
  }
  if (peer.record === null) flags |= FLAG_INTRODUCE;
  const body = encodeBody(type, seq, flags, target, items);
  const counter = peer.session!.txCounter++;
  emit(
    s,
    address,
    sealDatagram(s.crypto, key, type, s.epoch, peer.peerEpoch, counter, peer.key, body),
  );
}

/** Hands a finished datagram to the outbox and counts it. */
export function emit(s: SwimState, to: Address, data: Uint8Array): void {
  s.stats.sent++;
  s.stats.sentBytes += data.length;
  s.outbox.push({ to, data });
}
