/**
 * Failure detection by probing: one member per protocol period in shuffled round-robin order,
 * a direct ping, then ping-req through k helpers; serving ping-reqs for others (relayed ack,
 * or a Lifeguard nack when the target stays silent); expedited probes of members others
 * accuse; and the Lifeguard awareness score fed by every probe outcome.
 */

import { markVerified, onCheckAck } from "./address_check.ts";
import { ItemKind, MessageType, NACK_TIMEOUT_FRACTION } from "./constants.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import { suspect } from "./liveness.ts";
import { gossipTargets } from "./member_picks.ts";
import { FLAG_INTRODUCE } from "./message_body.ts";
import { destination, send } from "./outbound.ts";
import type { Member } from "./member.ts";
import type { ListedEntry } from "./member_table.ts";
import type { Probe, Relay } from "./probe_types.ts";
import { onPunchAck } from "./punch.ts";
import { keyId, makeClaim } from "./records.ts";
import { mayLetGo } from "./let_go.ts";

/** Ping-req relays in flight at once. */
const MAX_RELAYS = 256;

/** Probes the next member of the current round, if there is one to probe. */
export function probeNext(s: SwimState): void {
  // Here, at the top of a timer, no caller holds a Member the tidy-up could let go.
  s.members.tidy(s.now, (member) => mayLetGo(s, member));
  const target = nextProbeTarget(s);
  if (target !== null) startProbe(s, target, false);
}

function nextProbeTarget(s: SwimState): Member | null {
  for (let pass = 0; pass < 2; pass++) {
    while (s.probeIndex < s.probeOrder.length) {
      const member = s.members.resolve(s.probeOrder[s.probeIndex++]);
      if (
        member !== null && member.isListed &&
        (member.state === "alive" || member.state === "suspect") && !member.probing
      ) {
        return member;
      }
    }
    // End of a round: reshuffle (SWIM's round-robin bounds worst-case detection time).
    s.probeOrder = s.members.roundOrder();
    shuffle(s, s.probeOrder);
    s.probeIndex = 0;
  }
  return null;
}

/** Puts a newly listed member at a random place in the current round, as memberlist does. */
export function enterProbeRound(s: SwimState, member: ListedEntry): void {
  const order = s.probeOrder;
  const at = s.probeIndex + Math.floor(s.random() * (order.length - s.probeIndex + 1));
  order.push(member);
  if (at < order.length - 1) [order[at], order[order.length - 1]] = [member, order[at]];
}

function shuffle(s: SwimState, array: ListedEntry[]): void {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(s.random() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
}

/** Probes `member` out of turn (someone accuses it), within the expedited-probe budget. */
export function expeditedProbe(s: SwimState, member: Member): void {
  if (s.leaving || member.probing || s.expedited >= s.config.maxExpeditedProbes) return;
  if (s.now - s.members.contacts.lastProbe(member) < s.config.probeInterval) return;
  startProbe(s, member, true);
}

function startProbe(s: SwimState, target: Member, expedited: boolean): void {
  const seq = s.nextSeq();
  const probe: Probe = {
    seq,
    target,
    address: destination(target),
    helpers: null,
    nacks: 0,
    acked: false,
    expedited,
    sentAt: s.now,
  };
  s.probes.set(seq, probe);
  target.probing = true;
  s.members.contacts.noteProbe(target, s.now);
  if (expedited) s.expedited++;
  const start = s.now;
  send(s, target, MessageType.Ping, seq, 0, null, buddyItems(s, target));
  const c = s.config;
  s.timers.add(start + s.awareness.scale(c.probeTimeout), () => {
    if (probe.acked) return;
    for (const helper of pingReqHelpers(s, c.indirectChecks, target)) {
      (probe.helpers ??= new Set()).add(helper.id);
      send(s, helper, MessageType.PingReq, seq, 0, target.key, []);
    }
    // A second direct ping rides alongside (memberlist falls back to TCP here; we have UDP).
    if (destination(target) !== probe.address) probe.address = null;
    send(s, target, MessageType.Ping, seq, 0, null, buddyItems(s, target));
  });
  s.timers.add(start + s.awareness.scale(c.probeInterval), () => {
    s.probes.delete(seq);
    target.probing = false;
    if (expedited) s.expedited--;
    if (probe.acked) return;
    if (c.lifeguard) {
      const expected = probe.helpers?.size ?? 0;
      s.awareness.apply(expected > 0 ? Math.max(0, expected - probe.nacks) : 1);
    }
    if (target.isListed && target.state === "alive") suspect(s, target);
  });
}

/**
 * The k ping-req helpers: members we reach on a proven path first (across NATs a helper we cannot
 * reach is no help, and the members that reach a NATed target are mostly the ones we reach too,
 * e.g. public ones), then random live ones. A target only some members reach directly stays alive
 * as long as one of those answers for it.
 */
function pingReqHelpers(s: SwimState, count: number, target: Member): Member[] {
  const helpers = gossipTargets(s.members, s.random, count + 1).filter((member) =>
    member !== target
  );
  return helpers.slice(0, count);
}

/** Buddy system: what we tell a member we probe about its own standing. */
function buddyItems(s: SwimState, member: Member): Uint8Array[] {
  if (!s.config.lifeguard || !member.isListed) return [];
  if (member.state !== "suspect" && member.state !== "dead") return [];
  const kind = member.state === "dead" ? ItemKind.Dead : ItemKind.Suspect;
  return [makeClaim(s.crypto, kind, member.key, member.epoch, member.incarnation).bytes];
}

/** Answers a ping from `member` (received from `from`) with an ack (buddy claims once proven). */
export function onPing(s: SwimState, member: Member, seq: number, from: Address): void {
  const introduce = member.wantsRecord ? FLAG_INTRODUCE : 0;
  send(s, member, MessageType.Ack, seq, introduce, null, buddyItems(s, member), from);
}

/** Serves a ping-req: pings the target for `requester` and relays its ack (or a nack). */
export function onPingReq(
  s: SwimState,
  requester: Member,
  seq: number,
  targetKey: Uint8Array,
): void {
  const targetId = keyId(targetKey);
  const target = targetId === s.selfId ? null : s.members.get(targetId);
  if (target === undefined || target === null || !target.isListed || target.address === null) {
    // We are alive but cannot help: a nack tells the requester its own link is fine.
    if (s.config.lifeguard) send(s, requester, MessageType.Nack, seq, 0, null, []);
    return;
  }
  if (s.relays.size >= MAX_RELAYS) return s.drop("relay-table-full");
  const relaySeq = s.nextSeq();
  const relay: Relay = {
    requester,
    requesterSeq: seq,
    target,
    address: destination(target),
    answered: false,
  };
  s.relays.set(relaySeq, relay);
  // Both are compared and sent to until the relay ends (see the timer below).
  s.members.pin(requester);
  s.members.pin(target);
  send(s, target, MessageType.Ping, relaySeq, 0, null, []);
  const timeout = s.config.probeTimeout;
  if (s.config.lifeguard) {
    s.timers.add(s.now + timeout * NACK_TIMEOUT_FRACTION, () => {
      if (!relay.answered) send(s, requester, MessageType.Nack, seq, 0, null, []);
    });
  }
  s.timers.add(s.now + timeout, () => {
    s.relays.delete(relaySeq);
    s.members.unpin(requester);
    s.members.unpin(target);
  });
}

/**
 * An ack from `member`: verifies the address our ping went to, relays it when it answers a
 * ping-req we serve, else ends our probe.
 */
export function onAck(s: SwimState, member: Member, seq: number): void {
  if (onCheckAck(s, member, seq) || onPunchAck(s, member, seq)) return;
  const relay = s.relays.get(seq);
  if (relay !== undefined) {
    if (relay.target !== member) return;
    if (relay.address !== null) markVerified(s, member, relay.address);
    relay.answered = true;
    s.relays.delete(seq);
    send(s, relay.requester, MessageType.Ack, relay.requesterSeq, 0, null, []);
    return;
  }
  const probe = s.probes.get(seq);
  if (probe === undefined || probe.acked) return;
  if (probe.target !== member && !probe.helpers?.has(member.id)) return;
  if (probe.target === member && probe.address !== null) {
    markVerified(s, member, probe.address);
    const rtt = s.now - probe.sentAt;
    // Only an ack to the first ping is a clean sample (the second went probeTimeout later).
    if (rtt < s.config.probeTimeout) {
      const smoothed = s.members.contacts.rtt(member);
      s.members.contacts.setRtt(member, smoothed < 0 ? rtt : smoothed + (rtt - smoothed) / 8);
    }
  }
  probe.acked = true;
  if (s.config.lifeguard) s.awareness.apply(-1);
}

/** A nack from a helper we asked: the helper is alive, only the target stayed silent. */
export function onNack(s: SwimState, member: Member, seq: number): void {
  const probe = s.probes.get(seq);
  if (probe !== undefined && probe.helpers?.has(member.id)) probe.nacks++;
}
