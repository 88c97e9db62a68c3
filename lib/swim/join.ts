/**
 * Joining and staying joined: Hello to every seed with exponential backoff while we know no
 * live member, answering Hellos as a seed, the first full sync once connected, falling back
 * to the seeds when every member is gone, and pinging dead members now and then so two
 * healed partition halves find each other again.
 */

import { ItemKind, MessageType } from "./constants.ts";
import type { Address } from "./endpoint.ts";
import type { SwimState } from "./engine_state.ts";
import type { SwimHeader } from "./header.ts";
import { decodeHello, encodeHello } from "./hello.ts";
import { peerFor } from "./member_table.ts";
import { onAlive, verifySigned } from "./membership_updates.ts";
import { emit, send } from "./outbound.ts";
import type { Peer } from "./peer.ts";
import { startFullSync } from "./push_pull.ts";
import { makeClaim } from "./records.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** Sends Hello to every seed while we know no live member, with exponential backoff. */
export function joinTick(s: SwimState): void {
  if (s.connected || s.leaving || s.seeds.length === 0) return;
  for (const seed of s.seeds) {
    const data = encodeHello(s.crypto, s.epoch, ++s.helloCounter, s.record);
    emit(s, seed, data);
  }
  const delay = s.joinBackoff * (0.75 + 0.5 * s.random());
  s.joinBackoff = Math.min(s.config.joinRetryMax, s.joinBackoff * 2);
  s.timers.add(s.now + delay, () => joinTick(s));
}

/** Handles a Hello (a joiner that may not know our epoch yet) from a trusted sender. */
export function onHello(
  s: SwimState,
  from: Address,
  data: Uint8Array,
  header: SwimHeader,
  senderId: string,
): void {
  if (s.leaving) return s.drop("leaving");
  if (!s.helloBucket.take(s.now)) return s.drop("hello-rate");
  let parts;
  try {
    parts = decodeHello(data, header.sender);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  const peer = peerFor(s, header.sender, senderId);
  if (peer === null) return s.drop("peer-table-full");
  const session = peer.sessionState();
  if (
    header.senderEpoch < session.helloEpoch ||
    (header.senderEpoch === session.helloEpoch && header.counter <= session.helloCounter)
  ) return s.drop("replay");
  if (!s.crypto.verify(header.sender, parts.message, parts.signature)) {
    return s.drop("auth");
  }
  if (!verifySigned(s, parts.record)) return s.drop("bad-signature");
  session.helloEpoch = header.senderEpoch;
  session.helloCounter = header.counter;
  s.stats.accepted++;
  if (header.senderEpoch > peer.peerEpoch) peer.peerEpoch = header.senderEpoch;
  peer.address = from;
  onAlive(s, parts.record, true, true);
  if (!s.connected) onConnected(s, peer);
  send(s, peer, MessageType.Ack, 0, 0, null, [s.record.bytes], from);
}

/** We heard from a live member for the first time (or again after isolation). */
export function onConnected(s: SwimState, peer: Peer): void {
  s.connected = true;
  s.joinBackoff = s.config.joinRetryInitial;
  s.events.push({ type: "connected" });
  // Catch up with the whole membership through the first member that answered, unless we
  // already know more than it (a member cache was loaded): push-pull covers the rest.
  if (s.list.length > 1) return;
  startFullSync(s, peer);
}

/** Notices that no live member is left and goes back to joining through the seeds. */
export function checkConnected(s: SwimState): void {
  if (s.connected && s.aliveCount === 0) {
    s.connected = false;
    s.events.push({ type: "isolated" });
    s.joinBackoff = s.config.joinRetryInitial;
    joinTick(s);
  }
}

/** Pings a random dead member now and then: how two healed partition halves find each other. */
export function reconnect(s: SwimState): void {
  s.timers.add(s.now + s.config.reconnectInterval, () => reconnect(s));
  if (s.leaving) return;
  if (s.dead.size === 0) return;
  let skip = Math.floor(s.random() * Math.min(64, s.dead.size));
  let peer: Peer | undefined;
  for (peer of s.dead) if (skip-- <= 0) break;
  if (peer === undefined || peer.record === null) return;
  if (peer.address === null && peer.record!.endpoints.length > 0) {
    peer.address = peer.record!.endpoints[0];
  }
  const claim = makeClaim(s.crypto, ItemKind.Dead, peer.key, peer.epoch, peer.incarnation);
  send(s, peer, MessageType.Ping, s.nextSeq(), 0, null, [claim.bytes, s.record.bytes]);
}
