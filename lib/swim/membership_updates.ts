/**
 * Applying membership items (Alive, Leave, Suspect, Dead) heard in gossip, sync pages or a
 * Hello. Versions are compared before signatures are checked, so gossip heard again costs no
 * crypto; only the subject may raise its own version, and a claim never changes liveness on
 * its own: it confirms a suspicion we already hold or makes us probe the member ourselves.
 */

import { ItemKind, MessageType } from "./constants.ts";
import { broadcast, reannounce } from "./dissemination.ts";
import type { SwimState } from "./engine_state.ts";
import { armSuspicionTimer, cancelTimer, scheduleRemoval } from "./liveness.ts";
import { send } from "./outbound.ts";
import type { Member } from "./member.ts";
import type { ListedEntry } from "./member_table.ts";
import { enterProbeRound, expeditedProbe } from "./probing.ts";
import {
  type AliveRecord,
  type Claim,
  compareVersion,
  type LeaveRecord,
  ownedItem,
  type SwimItem,
  verifyItem,
} from "./records.ts";

/** Distinct claimers remembered per member version. */
const MAX_CLAIMERS = 16;

/**
 * Checks an item's signature. Items are only ever verified when they would change state:
 * an item not newer than what we hold (the common case for gossip heard again) is dropped
 * by the version check first, which is the cache that matters.
 */
export function verifySigned(s: SwimState, item: SwimItem): boolean {
  return verifyItem(item, s.verifyFn);
}

/** Applies one item received from `via`. */
export function onItem(s: SwimState, item: SwimItem, via: Member): void {
  switch (item.kind) {
    case ItemKind.Alive:
      return onAlive(s, item, false, true);
    case ItemKind.Leave:
      return onLeave(s, item);
    default:
      return onClaim(s, item, via);
  }
}

/**
 * Applies an alive record if it is newer than what we hold; `verified` skips the signature
 * check (already done), `propagate` gossips it on.
 */
export function onAlive(
  s: SwimState,
  record: AliveRecord,
  verified: boolean,
  propagate: boolean,
): void {
  onAliveKnown(s, record, verified, propagate, s.members.peek(record.id));
}

/**
 * `onAlive` of a gossiped record (not verified, propagated) whose entry the caller peeked
 * already (`known`: `s.members.peek(record.id)`, with no table change since), so the lookup is
 * not made twice per item.
 */
export function onGossipedAlive(s: SwimState, record: AliveRecord, known: ListedEntry | undefined) {
  onAliveKnown(s, record, false, true, known);
}

function onAliveKnown(
  s: SwimState,
  record: AliveRecord,
  verified: boolean,
  propagate: boolean,
  known: ListedEntry | undefined,
): void {
  if (record.id === s.selfId) {
    // Only we may raise our incarnation: answer a newer-looking record of ours by outbidding.
    if (
      record.epoch === s.epoch && record.incarnation > s.incarnation &&
      (verified || verifySigned(s, record))
    ) reannounce(s, record.incarnation);
    return;
  }
  const trusted = s.trust.isTrusted(record.subject, record.id);
  const cert = record.certificate;
  // A stranger whose record carries a certificate is worth a look: cheap checks first.
  if (
    !trusted && (cert === null || !s.trust.precheckCertificate?.(record.subject, record.id, cert))
  ) {
    return s.drop("untrusted-record");
  }
  // Peeked first: a record heard again (most gossip and sync pages) leaves a cold member cold.
  if (
    known !== undefined && known.epoch !== 0 &&
    compareVersion(record.epoch, record.incarnation, known.epoch, known.incarnation) <= 0
  ) return;
  if (!verified && !verifySigned(s, record)) return s.drop("bad-signature");
  if (cert !== null && s.trust.admitCertificate !== undefined) {
    // Also for a member trusted already: a renewed certificate replaces the one held.
    const admitted = s.trust.admitCertificate(record.subject, record.id, cert);
    if (!trusted && !admitted) return s.drop("bad-certificate");
  }
  record = ownedItem(record);
  if (known === undefined && s.members.joinCold(record, s.now)) {
    // A first record of a key never seen: what the general path below does, without a Member.
    if (propagate) broadcast(s, "r" + record.id, record.bytes);
    enterProbeRound(s, record);
    s.events.push({ type: "joined", member: s.members.infoOf(record.id)! });
    return;
  }
  const member = s.members.get(record.id) ?? s.members.memberFor(record.subject, record.id, true);
  if (member === null) return s.drop("member-table-full");
  const wasListed = member.isListed;
  const before = member.state;
  const restarted = member.epoch !== 0 && record.epoch > member.epoch;
  const old = member.record;
  member.record = record;
  member.epoch = record.epoch;
  member.incarnation = record.incarnation;
  member.claims = null;
  cancelTimer(member);
  member.suspicion = null;
  if (record.epoch > member.latestEpoch) member.latestEpoch = record.epoch;
  if ((member.address === null || restarted) && record.endpoints.length > 0) {
    member.address = record.endpoints[0];
  }
  if (propagate) broadcast(s, "r" + record.id, record.bytes);
  if (!wasListed || before === "left") {
    if (s.members.join(member, s.now)) enterProbeRound(s, member);
    s.events.push({ type: "joined", member: s.members.info(member) });
  } else if (before === "suspect" || before === "dead") {
    s.members.revive(member, s.now);
    s.events.push({ type: "alive", member: s.members.info(member), restarted });
  } else if (restarted || (old !== null && !sameAdvert(old, record))) {
    s.events.push({ type: "updated", member: s.members.info(member), restarted });
  }
}

function onLeave(s: SwimState, record: LeaveRecord): void {
  if (record.id === s.selfId) {
    if (!s.leaving && record.epoch === s.epoch && verifySigned(s, record)) {
      reannounce(s, record.incarnation);
    }
    return;
  }
  const member = s.members.get(record.id);
  if (member === undefined || member.record === null || member.state === "left") return;
  if (compareVersion(record.epoch, record.incarnation, member.epoch, member.incarnation) < 0) {
    return;
  }
  if (!verifySigned(s, record)) return s.drop("bad-signature");
  member.epoch = record.epoch;
  member.incarnation = record.incarnation;
  member.claims = null;
  member.suspicion = null;
  cancelTimer(member);
  broadcast(s, "r" + record.id, record.bytes);
  if (member.removed) return;
  s.members.leave(member, s.now);
  s.events.push({ type: "left", member: s.members.info(member) });
  scheduleRemoval(s, member);
}

function onClaim(s: SwimState, claim: Claim, via: Member): void {
  if (claim.id === s.selfId) {
    // Buddy system: we are accused; refute at once with a higher incarnation.
    // Only a claim about our *current* version needs an answer: one about a version we never
    // had (a higher incarnation) is made up, and refuting it would let any insider push our
    // incarnation to its limit in one step.
    if (
      !s.leaving && claim.epoch === s.epoch && claim.incarnation === s.incarnation &&
      verifySigned(s, claim)
    ) {
      if (s.config.lifeguard) s.awareness.apply(1);
      reannounce(s, claim.incarnation);
      // Tell the accuser directly too, so its suspicion ends without waiting for gossip.
      send(s, via, MessageType.Gossip, 0, 0, null, [s.record.bytes]);
    }
    return;
  }
  if (claim.claimerId === s.selfId) return;
  const member = s.members.get(claim.id);
  if (member === undefined || !member.isListed || member.state === "left") return;
  if (compareVersion(claim.epoch, claim.incarnation, member.epoch, member.incarnation) !== 0) {
    return;
  }
  if (!s.trust.isTrusted(claim.claimer, claim.claimerId)) return;
  if (member.claims?.has(claim.claimerId)) return;
  if (member.claims !== null && member.claims.size >= MAX_CLAIMERS) return;
  if (!verifySigned(s, claim)) return s.drop("bad-signature");
  (member.claims ??= new Set()).add(claim.claimerId);
  broadcast(s, "c" + claim.id + claim.claimerId, claim.bytes);
  // Hearsay never changes liveness by itself: it only shortens a suspicion we already
  // hold (Lifeguard confirmation) or makes us probe the member ourselves now.
  if (member.state === "suspect" && member.suspicion !== null) {
    if (s.config.lifeguard && member.suspicion.confirm(claim.claimerId)) {
      armSuspicionTimer(s, member);
    }
  } else if (member.state === "alive") {
    expeditedProbe(s, member);
  }
}

/** Same NAT type and endpoints: a newer version that changes nothing else is no "updated". */
function sameAdvert(a: AliveRecord, b: AliveRecord): boolean {
  return a.nat === b.nat && a.endpoints.length === b.endpoints.length &&
    a.endpoints.every((endpoint, i) => endpoint === b.endpoints[i]);
}
