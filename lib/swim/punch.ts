/**
 * Hole punching between two members without a proven direct path (issue 13). The requester A
 * sends a signed punch request (punch_request.ts) to a rendezvous R it reaches on a proven
 * path; R forwards it, as is, to the target B only if B too is on a proven path of R's; B
 * checks it end to end (A's signature, B's own epoch, A's nonce newer than the last) and both
 * sides then ping every candidate of the other's self-signed record in a short burst, so the
 * two NATs open mappings towards each other at about the same moment. A punch ping is an
 * ordinary sealed Ping with a fresh random seq: the first ack proves its address, which
 * becomes the member's verified address and so the WireGuard endpoint (address_check.ts).
 *
 * Which pairs punch: every live member we hold a record for whose address we have not proven
 * although we pinged it directly (a probe or a verification ping, PUNCH_FIRST_DELAY ago), or
 * whose proven address did not answer our latest probe directly (NAT rebinding), except when
 * both records say "symmetric" (no mapping to aim at). Members of a public mesh prove their
 * address within one round trip and punch only after a lost probe. Attempts per member back
 * off from PUNCH_BACKOFF_INITIAL to PUNCH_BACKOFF_MAX; a node starts at most
 * PUNCH_START_RATE a second, serves at most PUNCH_FORWARD_RATE as a rendezvous and answers
 * at most PUNCH_ANSWER_RATE as a target (punch_state.ts), so a large mesh cannot punch-storm.
 */

import { markVerified } from "./address_check.ts";
import { MessageType } from "./constants.ts";
import type { Address } from "./address.ts";
import { sealDatagram } from "./datagram.ts";
import type { SwimState } from "./engine_state.ts";
import { Member } from "./member.ts";
import { entryIsListed, entryRecord, entryState } from "./member_table.ts";
import type { ListedEntry } from "./member_table.ts";
import { emit, send } from "./outbound.ts";
import { makePunchRequest, type PunchRequest, verifyPunchRequest } from "./punch_request.ts";
import { type AliveRecord, keyId, NatType } from "./records.ts";
import { MAX_BURST_ADDRESSES, MAX_BURSTS, SCAN_PER_TICK } from "./punch_state.ts";
import { txKey } from "./session_keys.ts";
import type { Burst } from "./punch_state.ts";

/** Wait after a first direct ping to a member went unanswered (a slow ack may still come). */
export const PUNCH_FIRST_DELAY = 2_000;
/** Wait before the second attempt for one member; doubles per attempt. */
export const PUNCH_BACKOFF_INITIAL = 2_000;
/** Longest wait between two attempts for one member. */
export const PUNCH_BACKOFF_MAX = 300_000;
/** When, after an attempt starts, each side pings all candidates again (ms; ≤ 1.5 s). */
export const PUNCH_BURST_OFFSETS = [0, 50, 100, 200, 400, 700, 1_000, 1_500];
/** True when `member` is one we should punch to: live, with candidates, no proven path. */
function wantsPunch(s: SwimState, member: Member): boolean {
  // Cheapest first (the scan asks this of 64 members a tick per node): the Member's own fields,
  // then the session columns, and only then the record, a separate object.
  if (!member.isListed || member.latestEpoch === 0) return false;
  if (member.state !== "alive" && member.state !== "suspect") return false;
  if (member.hasVerified) {
    // A proven path that stopped answering: our latest probe, finished, got no direct ack (its
    // NAT rebound or the mapping expired; ping-req keeps it alive meanwhile).
    // (`probeUnanswered` is lastProbe > lastDirect, from the Member's flags.)
    if (!member.probeUnanswered) return false;
    if (s.now - s.members.contacts.lastProbe(member) < s.config.probeInterval) return false;
  }
  const record = member.record;
  if (record === null || record.endpoints.length === 0) return false;
  return !(s.nat === NatType.Symmetric && record.nat === NatType.Symmetric);
}

/** `wantsPunch` of a cold member (alive, record epoch ≥ 1, nothing verified). */
function coldWantsPunch(s: SwimState, record: AliveRecord): boolean {
  return record.endpoints.length > 0 &&
    !(s.nat === NatType.Symmetric && record.nat === NatType.Symmetric);
}

/** True while our latest probe of a member with a proven path may still be answered. */
function probeInFlight(s: SwimState, member: Member): boolean {
  return member.hasVerified &&
    s.now - s.members.contacts.lastProbe(member) < s.config.probeInterval;
}

function candidateKey(member: Member): string {
  return member.record?.endpoints.join(" ") ?? "";
}

/**
 * The punch timer: every probe interval, starts due attempts for members without a path. It
 * looks at the next SCAN_PER_TICK listed entries from where it stopped, but only at those whose
 * `punchScan` bit is set: for the others the loop body would do nothing (see `scanEntry`).
 */
export function punchTick(s: SwimState): void {
  s.timers.add(s.now + s.config.probeInterval, () => punchTick(s));
  if (s.leaving) return;
  const p = s.punch;
  const listed = s.members.listed;
  if (p.pairs.size > listed.length) {
    for (const id of p.pairs.keys()) {
      if (!entryIsListed(s.members.peek(id))) p.pairs.delete(id);
    }
  }
  const length = listed.length;
  if (length === 0) return;
  const count = Math.min(SCAN_PER_TICK, length);
  const start = p.cursor % length;
  const bits = s.members.punchScan;
  // The window [start, start + count) of listed indices, wrapping past the end once.
  const firstEnd = Math.min(start + count, length);
  for (let i = bits.next(start, firstEnd); i >= 0; i = bits.next(i + 1, firstEnd)) {
    if (!scanEntry(s, i)) {
      p.cursor += i - start + 1;
      return;
    }
  }
  const wrapEnd = start + count - length;
  for (let i = bits.next(0, wrapEnd); i >= 0; i = bits.next(i + 1, wrapEnd)) {
    if (!scanEntry(s, i)) {
      p.cursor += length - start + i + 1;
      return;
    }
  }
  p.cursor += count;
}

/**
 * The scan's step for the listed entry at `index`: false when the start rate is spent (the
 * scan stops there). Its `punchScan` bit is cleared when nothing here can happen for the entry
 * until a transition that sets it again: no backoff held for it, and either never pinged
 * directly (a cold entry never was) or proven and answering our latest probe.
 */
function scanEntry(s: SwimState, index: number): boolean {
  const p = s.punch;
  const entry = s.members.listed[index];
  if (!(entry instanceof Member)) {
    // Cold (never talked to, so never tried directly): what the lines below would do.
    if (!coldWantsPunch(s, entry)) p.pairs.delete(entry.id);
    if (!p.pairs.has(entry.id)) s.members.punchScan.clear(index);
    return true;
  }
  const member = entry;
  if (!wantsPunch(s, member)) {
    // A probe still in flight says nothing yet: keep the attempt's schedule. (Forgetting it
    // here starved small meshes, where every member is probed every tick or two: a rebound
    // pair never came due.)
    if (p.pairs.has(member.id) && !probeInFlight(s, member)) p.pairs.delete(member.id);
    settle(s, member, index);
    return true;
  }
  // Never tried directly: on-demand verification goes first (it is all a public mesh needs).
  const tried = s.members.contacts.lastPinged(member);
  if (tried === -Infinity) {
    settle(s, member, index);
    return true;
  }
  let pair = p.pairs.get(member.id);
  if (pair === undefined) {
    pair = {
      nextAttempt: tried + PUNCH_FIRST_DELAY,
      backoff: PUNCH_BACKOFF_INITIAL,
      candidates: candidateKey(member),
    };
    p.pairs.set(member.id, pair);
  } else if (pair.candidates !== candidateKey(member)) {
    // New candidates (e.g. its STUN result came in): worth trying again at once. A new
    // incarnation with the same candidates (a refutation) keeps the backoff.
    pair.candidates = candidateKey(member);
    pair.nextAttempt = s.now;
    pair.backoff = PUNCH_BACKOFF_INITIAL;
  }
  if (s.now < pair.nextAttempt || p.bursts.has(member.id)) return true;
  if (!p.startBucket.take(s.now)) return false;
  pair.nextAttempt = s.now + pair.backoff;
  pair.backoff = Math.min(PUNCH_BACKOFF_MAX, pair.backoff * 2);
  startPunch(s, member);
  return true;
}

/**
 * Clears `member`'s scan bit when the scan can have nothing to do for it until MemberTable sets
 * the bit again: no backoff held, and never pinged directly or proven and answering (a proven
 * address is never unproven; a probe, check or direct ack sets the bit).
 */
function settle(s: SwimState, member: Member, index: number): void {
  if (s.punch.pairs.has(member.id)) return;
  if (member.hasVerified ? member.probeUnanswered : tried(s, member)) return;
  s.members.punchScan.clear(index);
}

/** True once we pinged `member` directly (a probe or a verification ping). */
function tried(s: SwimState, member: Member): boolean {
  return s.members.contacts.lastPinged(member) !== -Infinity;
}

/** One attempt: a signed request through a rendezvous, and our own burst at once. */
function startPunch(s: SwimState, target: Member): void {
  const rendezvous = pickRendezvous(s, target);
  if (rendezvous === null) {
    s.punch.stats.noRendezvous++;
    return;
  }
  const request = makePunchRequest(
    s.crypto,
    s.epoch,
    target.key,
    target.latestEpoch,
    s.punch.nonce++,
  );
  sendPunch(s, rendezvous, request.bytes);
  s.punch.stats.requested++;
  burst(s, target);
}

/**
 * A live member on a proven path, other than the target; public ones first (most likely to
 * have proven paths to everyone).
 */
function pickRendezvous(s: SwimState, target: Member): Member | null {
  let best: ListedEntry | null = null;
  let seen = 0;
  for (const id of s.members.proven) {
    // The list holds ids (cold members have no Member): "" is a forgotten member's.
    if (id === target.id || id === "") continue;
    // One lookup: listed, and its current address is the proven one.
    const index = s.members.provenIndex(id);
    if (index < 0) continue;
    const member = s.members.listed[index];
    if (entryState(member) !== "alive") continue;
    const isPublic = entryRecord(member)?.nat === NatType.Public;
    const bestNat = best === null ? undefined : entryRecord(best)?.nat;
    if (best !== null && bestNat === NatType.Public && !isPublic) continue;
    if (best !== null && !(isPublic && bestNat !== NatType.Public)) {
      // Reservoir sampling among equals keeps the choice uniform.
      if (s.random() * ++seen >= 1) continue;
    } else {
      seen = 1;
    }
    best = member;
  }
  return best === null ? null : s.members.get(best.id)!;
}

/** Seals a punch request for `member` and sends it to its proven address only. */
function sendPunch(s: SwimState, member: Member, request: Uint8Array): void {
  const to = member.verified;
  if (to === null || member.latestEpoch === 0) return;
  const key = txKey(s, member);
  if (key === null) return;
  const data = sealDatagram(
    s.crypto,
    key,
    MessageType.Punch,
    s.epoch,
    member.latestEpoch,
    s.txCounter++,
    member.key,
    request,
  );
  emit(s, to, data);
}

/** Pings every candidate of `member` now and at each burst offset, until one answers. */
function burst(s: SwimState, member: Member): void {
  const p = s.punch;
  // Both sides may have started at once: the burst already running serves both.
  if (p.bursts.has(member.id)) return;
  if (p.bursts.size >= MAX_BURSTS) return s.drop("punch-busy");
  const state: Burst = { member, seqs: new Map(), done: false };
  for (const address of new Set(member.record?.endpoints ?? [])) {
    const seq = s.nextSeq();
    state.seqs.set(seq, address);
    p.pings.set(seq, state);
  }
  p.bursts.set(member.id, state);
  // Its timers send to this very object until `finish`.
  s.members.pin(member);
  const start = s.now;
  for (const offset of PUNCH_BURST_OFFSETS) {
    s.timers.add(start + offset, () => {
      if (state.done) return;
      for (const [seq, address] of state.seqs) {
        p.stats.pings++;
        send(s, member, MessageType.Ping, seq, 0, null, [], address, false);
      }
    });
  }
  // The last round's acks get a probe timeout to come back.
  const end = start + PUNCH_BURST_OFFSETS[PUNCH_BURST_OFFSETS.length - 1] + s.config.probeTimeout;
  s.timers.add(end, () => finish(s, state));
}

function finish(s: SwimState, state: Burst): void {
  if (!state.done) s.members.unpin(state.member);
  state.done = true;
  for (const seq of state.seqs.keys()) s.punch.pings.delete(seq);
  if (s.punch.bursts.get(state.member.id) === state) s.punch.bursts.delete(state.member.id);
}

/** An authenticated ack from `member`: true when it answered a punch ping (path proven). */
export function onPunchAck(s: SwimState, member: Member, seq: number): boolean {
  const state = s.punch.pings.get(seq);
  if (state === undefined || state.member !== member) return false;
  const address = state.seqs.get(seq)!;
  finish(s, state);
  s.punch.stats.proven++;
  s.punch.pairs.delete(member.id);
  markVerified(s, member, address);
  return true;
}

/** A Punch datagram from `sender`: forward it as the rendezvous, or answer it as the target. */
export function onPunch(s: SwimState, sender: Member, request: PunchRequest): void {
  const targetId = keyId(request.target);
  const requesterId = keyId(request.requester);
  if (targetId === s.selfId) return answerPunch(s, request, requesterId);
  // As the rendezvous: only a member's own request, only to a member on a proven path.
  if (requesterId !== sender.id) return s.drop("punch-not-requester");
  const target = s.members.get(targetId);
  if (
    target === undefined || !target.isListed || target === sender ||
    (target.state !== "alive" && target.state !== "suspect") ||
    target.verified === null || target.address !== target.verified
  ) {
    return s.drop("punch-no-path");
  }
  if (!s.punch.forwardBucket.take(s.now)) return s.drop("punch-rate");
  if (!verifyPunchRequest(request, s.verifyFn)) return s.drop("punch-signature");
  s.punch.stats.forwarded++;
  // Each side punches at the candidates of the other's record as it holds it, and the target
  // answers only a requester it knows; gossip may not have brought either the newest (a NATed
  // member hears only from members that reach it, and a record's few transmissions can all go
  // elsewhere: the pair then punched a stale port, or the target dropped the request, until a
  // push-pull). So each gets the other's own signed record with the forward: two records per
  // request, within the forward rate.
  if (sender.record !== null && target.verified !== null) {
    send(s, target, MessageType.Gossip, 0, 0, null, [sender.record.bytes], target.verified, false);
  }
  sendPunch(s, target, request.bytes);
  if (target.record !== null && sender.verified !== null) {
    send(s, sender, MessageType.Gossip, 0, 0, null, [target.record.bytes], sender.verified, false);
  }
}

/** As the target: check the request end to end, then burst towards the requester. */
function answerPunch(s: SwimState, request: PunchRequest, requesterId: string): void {
  const p = s.punch;
  // Members exist only for trusted keys; a listed one has the record its candidates come from.
  const requester = s.members.get(requesterId);
  if (requester === undefined || !requester.isListed || requester.record === null) {
    return s.drop("punch-unknown-requester");
  }
  if (request.targetEpoch !== s.epoch || request.requesterEpoch < requester.epoch) {
    return s.drop("punch-stale");
  }
  const last = p.accepted.get(requesterId);
  if (
    last !== undefined &&
    (request.requesterEpoch < last.epoch ||
      (request.requesterEpoch === last.epoch && request.nonce <= last.nonce))
  ) {
    return s.drop("punch-replay");
  }
  if (!p.answerBucket.take(s.now)) return s.drop("punch-rate");
  if (!verifyPunchRequest(request, s.verifyFn)) return s.drop("punch-signature");
  p.accepted.set(requesterId, { epoch: request.requesterEpoch, nonce: request.nonce });
  p.stats.answered++;
  burst(s, requester);
}

/**
 * An authenticated datagram from `member` came from `from` while we punch towards it: a source
 * its record does not name (a NAT that maps per destination) joins the burst, as ICE's
 * peer-reflexive candidates do. Bounded: one burst per member, a few extra addresses each.
 */
export function notePunchSource(s: SwimState, member: Member, from: Address): void {
  // Runs for every authenticated datagram; bursts are few and short (most of the time none).
  if (s.punch.bursts.size === 0) return;
  const state = s.punch.bursts.get(member.id);
  if (state === undefined || state.done || state.seqs.size >= MAX_BURST_ADDRESSES) return;
  for (const address of state.seqs.values()) if (address === from) return;
  const seq = s.nextSeq();
  state.seqs.set(seq, from);
  s.punch.pings.set(seq, state);
  s.punch.stats.pings++;
  send(s, member, MessageType.Ping, seq, 0, null, [], from, false);
}
