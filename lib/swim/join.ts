/**
 * Joining and staying joined: Hello to every seed with exponential backoff while we know no
 * live member, answering Hellos as a seed, the first full sync once connected, falling back
 * to the seeds when every member is gone, and pinging dead members now and then so two
 * healed partition halves find each other again.
 */

import { ItemKind, MessageType } from "./constants.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import type { SwimHeader } from "./header.ts";
import { markVerified } from "./address_check.ts";
import { HELLO_COOKIE_REUSE } from "./constants.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import {
  decodeHello,
  decodeHelloCookie,
  encodeHello,
  encodeHelloCookie,
  helloEcho,
} from "./hello.ts";
import { onAlive, verifySigned } from "./membership_updates.ts";
import { emit, send } from "./outbound.ts";
import type { Member } from "./member.ts";
import { entryAddress, entryRecord, entryState } from "./member_table.ts";
import { startFullSync } from "./push_pull.ts";
import { keyId, makeClaim } from "./records.ts";
import { NO_SESSION } from "./session_table.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** After joining, when the first member's membership is fetched again (ms). */
export const JOIN_RESYNC_DELAY = 3_000;

/** Sends Hello to every seed while we know no live member, with exponential backoff. */
export function joinTick(s: SwimState): void {
  if (s.connected || s.leaving || s.seeds.length === 0) return;
  for (const seed of s.seeds) sendHello(s, seed);
  const delay = s.joinBackoff * (0.75 + 0.5 * s.random());
  s.joinBackoff = Math.min(s.config.joinRetryMax, s.joinBackoff * 2);
  s.timers.add(s.now + delay, () => joinTick(s));
}

/** Sends a Hello to `seed`, with the seed's cookie while we hold a recent one. */
function sendHello(s: SwimState, seed: Address): void {
  const cached = s.seedCookies.get(seed);
  const fresh = cached !== undefined && s.now - cached.at < HELLO_COOKIE_REUSE;
  const data = fresh
    ? encodeHello(s.crypto, s.epoch, ++s.helloCounter, s.record, cached.receiver, cached.cookie)
    : encodeHello(s.crypto, s.epoch, ++s.helloCounter, s.record);
  if (!fresh) s.seedCookies.delete(seed);
  s.helloEchoes.set(seed, helloEcho(data).slice());
  emit(s, seed, data);
}

/**
 * A seed's cookie for our Hello: kept (bound to the seed's key) and used at once. Accepted
 * only from an address we sent a Hello to and only when it echoes that Hello, so nobody off
 * the path can feed us cookies.
 */
export function onHelloCookie(
  s: SwimState,
  from: Address,
  data: Uint8Array,
  header: SwimHeader,
): void {
  if (s.leaving) return s.drop("unsolicited-cookie");
  const echo = s.helloEchoes.get(from);
  if (echo === undefined || header.receiverEpoch !== s.epoch) return s.drop("unsolicited-cookie");
  let parts;
  try {
    parts = decodeHelloCookie(data);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  if (!constantTimeEqual(parts.echo, echo)) return s.drop("unsolicited-cookie");
  // A seed we do not trust by key may be admitted by the org certificate its cookie carries
  // (public, org-signed: it proves nothing about the sender, but only that key's holder can
  // then answer our Hello in a datagram that authenticates).
  const id = keyId(header.sender);
  if (!s.trust.isTrusted(header.sender, id)) {
    const cert = parts.certificate;
    if (
      cert === null || !s.trust.precheckCertificate?.(header.sender, id, cert) ||
      !s.trust.admitCertificate?.(header.sender, id, cert)
    ) return s.drop("untrusted");
  }
  const previous = s.seedCookies.get(from);
  s.seedCookies.set(from, {
    receiver: header.sender.slice(),
    cookie: parts.cookie.slice(),
    at: s.now,
  });
  // A cookie for a Hello that already carried one means ours expired: one retry, not a loop.
  if (previous === undefined) sendHello(s, from);
}

/**
 * Handles a Hello (a joiner that may not know our epoch yet) from a trusted sender. Cheap
 * checks first: shape, then the sender's known epoch and Hello position, then the cookie
 * (without one, a HelloCookie answers and nothing is kept), then the per-source and global
 * rate limits; only then the two signatures (issue 11, findings 2 and 4).
 */
export function onHello(
  s: SwimState,
  from: Address,
  data: Uint8Array,
  header: SwimHeader,
  senderId: string,
): void {
  if (s.leaving) return s.drop("leaving");
  let parts;
  try {
    parts = decodeHello(data, header.sender, header.senderEpoch);
  } catch (error) {
    if (error instanceof SwimDecodeError) return s.drop(error.reason);
    throw error;
  }
  // Trusted by key, or carrying a certificate: checked once the cookie and rate limits passed
  // (decoding it costs more than a cookie, and a flood may replay a member's public one).
  const trusted = s.trust.isTrusted(header.sender, senderId);
  const cert = parts.record.certificate;
  if (!trusted && (cert === null || s.trust.admitCertificate === undefined)) {
    return s.drop("untrusted");
  }
  const known = s.members.get(senderId);
  // A Hello from an epoch older than one we have seen is a replay from a previous run.
  if (known !== undefined && header.senderEpoch < known.latestEpoch) return s.drop("stale-epoch");
  const position = known?.sessionSlot ?? NO_SESSION;
  if (
    position !== NO_SESSION &&
    s.members.sessions.helloSeen(position, header.senderEpoch, header.counter)
  ) return s.drop("replay");
  if (
    !constantTimeEqual(parts.receiver, s.crypto.publicKey) ||
    !s.helloCookies.valid(parts.cookie, header.sender, header.senderEpoch, from, s.now)
  ) {
    const cookie = s.helloCookies.make(header.sender, header.senderEpoch, from, s.now);
    // Our certificate rides along when the joiner has one too (so its Hello is larger than the
    // answer): a joiner that trusts our org but not our key can then admit us.
    const ours = cert !== null ? s.certificate : null;
    emit(
      s,
      from,
      encodeHelloCookie(s.crypto.publicKey, s.epoch, header.senderEpoch, cookie, data, ours),
    );
    return s.drop("hello-cookie");
  }
  if (!s.helloCookies.takeSource(from, s.now)) return s.drop("hello-source-rate");
  if (!s.helloBucket.take(s.now)) return s.drop("hello-rate");
  if (!trusted && !s.trust.precheckCertificate?.(header.sender, senderId, cert!)) {
    return s.drop("untrusted");
  }
  if (!s.crypto.verify(header.sender, parts.message, parts.signature)) {
    return s.drop("auth");
  }
  if (!verifySigned(s, parts.record)) return s.drop("bad-signature");
  if (!trusted && !s.trust.admitCertificate?.(header.sender, senderId, cert!)) {
    return s.drop("bad-certificate");
  }
  const member = s.members.memberFor(header.sender, senderId);
  if (member === null) return s.drop("member-table-full");
  s.members.sessions.acceptHello(
    s.members.contacts.sessionOf(member),
    header.senderEpoch,
    header.counter,
  );
  s.stats.accepted++;
  if (header.senderEpoch > member.latestEpoch) member.latestEpoch = header.senderEpoch;
  // The cookie proved that `from` receives, and the Hello is newer than any before it.
  member.address = from;
  const aliveBefore = s.members.aliveCount;
  onAlive(s, parts.record, true, true);
  markVerified(s, member, from);
  if (!s.connected) onConnected(s, member, aliveBefore);
  send(s, member, MessageType.Ack, 0, 0, null, [s.record.bytes], from);
}

/**
 * We heard from a live member for the first time (or again after isolation); `aliveBefore` is
 * how many live members we knew before the message that connected us was applied.
 */
export function onConnected(s: SwimState, member: Member, aliveBefore: number): void {
  s.connected = true;
  s.joinBackoff = s.config.joinRetryInitial;
  s.events.push({ type: "connected" });
  // Catch up with the whole membership through the first member that answered, unless we
  // already knew live members (a member cache was loaded): push-pull covers the rest. Counted
  // before the message's own items, which may name a few others joining at the same time and
  // must not make us skip the sync (found by the soak: 20–45 s to see everyone).
  if (aliveBefore > 0) return;
  startFullSync(s, member);
  // The timer below reads this very object.
  s.members.pin(member);
  // Members that joined through the same seed just after us reached it after that sync, and
  // gossip spends an update's few transmissions on members already proven, so behind NATs (where
  // only public members reach us) such a pair could miss each other for a push-pull or two
  // (simulated 5-node mesh, two NATed joins 30 ms apart: median 18 s, p90 42 s). A second sync
  // with the same member catches whoever joined meanwhile.
  s.timers.add(s.now + JOIN_RESYNC_DELAY, () => {
    s.members.unpin(member);
    if (s.leaving || s.fullSyncWith !== null || !member.isListed || member.state !== "alive") {
      return;
    }
    startFullSync(s, member);
  });
}

/** Notices that no live member is left and goes back to joining through the seeds. */
export function checkConnected(s: SwimState): void {
  if (s.connected && s.members.aliveCount === 0) {
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
  helloAbsentSeeds(s);
  if (s.members.dead.size === 0) return;
  let skip = Math.floor(s.random() * Math.min(64, s.members.dead.size));
  let member: Member | undefined;
  for (member of s.members.dead) if (skip-- <= 0) break;
  if (member === undefined || member.record === null) return;
  if (member.address === null && member.record!.endpoints.length > 0) {
    member.address = member.record!.endpoints[0];
  }
  const claim = makeClaim(s.crypto, ItemKind.Dead, member.key, member.epoch, member.incarnation);
  send(s, member, MessageType.Ping, s.nextSeq(), 0, null, [claim.bytes, s.record.bytes]);
}

/**
 * While connected, a Hello to every seed that no live member is reachable at. Without it a
 * seed that was not up yet when the others found each other through a second seed stays
 * alone for good: nobody contacts it and it knows nobody (found by the soak).
 */
function helloAbsentSeeds(s: SwimState): void {
  if (!s.connected || s.seeds.length === 0) return;
  const reached = new Set<Address>(s.endpoints);
  for (const entry of s.members.listed) {
    if (entryState(entry) !== "alive") continue;
    const address = entryAddress(entry);
    if (address !== null) reached.add(address);
    for (const endpoint of entryRecord(entry)?.endpoints ?? []) reached.add(endpoint);
  }
  for (const seed of s.seeds) if (!reached.has(seed)) sendHello(s, seed);
}
