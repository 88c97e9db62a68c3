/**
 * WireGuard's timer rules (paper §6, the kernel's timers.c), one named function each. The
 * engine's one timer pass, `runTimerRules`, calls them in the kernel's order of concern; each
 * checks its own deadline, disarms it before acting (so the action may re-arm it), reports
 * itself by name and acts through the engine. The arming side (a handshake sent, a session
 * derived) is here too, so a rule's "when" and "what" read in one place.
 *
 * The rules every thread checks per packet (rekey by age or counter, rejecting an old keypair)
 * are not timers, but they are here too, as predicates `data_plane.ts` calls (`sealWith`,
 * `openInPlace`, `sendingKeypair`); they reach the engine as handshake requests, at most once
 * per REKEY_TIMEOUT per peer, and are not counted (that would be per packet).
 */

import {
  KEEPALIVE_TIMEOUT,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  SEND_COUNTER_LIMIT,
  ZERO_KEYS_AFTER,
} from "./constants.ts";
import type { Peer } from "./peer.ts";

/** The timer rules by name, in the order one pass runs them. */
export const TIMER_RULES = [
  "giveUpHandshake",
  "retransmitHandshake",
  "sendKeepalive",
  "newHandshake",
  "persistentKeepalive",
  "zeroKeyMaterial",
] as const;

/** One timer rule's name. */
export type TimerRule = typeof TIMER_RULES[number];

/** Handshake retransmissions in one round before giving up (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT). */
export const MAX_HANDSHAKE_RETRANSMISSIONS = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;

/** What the rules ask of the engine. */
export interface TimerActions {
  /** Sends an initiation; `retry` keeps the round (and its attempt count) going. */
  initiateHandshake(peer: Peer, now: number, retry: boolean): void;
  /** Forgets the handshake in flight and drops every packet that waited for it. */
  abandonHandshake(peer: Peer): void;
  /** Sends a keepalive (after anything staged). */
  sendKeepalive(peer: Peer, now: number): void;
  /** Wipes every keypair and the pending handshake, disarming every timer. */
  resetSessions(peer: Peer): void;
  /** A rule fired (for the debug log and the per-rule counters). */
  fired(rule: TimerRule, peer: Peer, now: number): void;
}

// ─── arming (what starts each timer) ───

/** A handshake initiation went out: retransmit it after REKEY_TIMEOUT plus jitter. */
export function armRetransmitHandshake(peer: Peer, now: number, random: () => number): void {
  peer.retransmitHandshakeAt = now + REKEY_TIMEOUT +
    Math.floor(random() * REKEY_TIMEOUT_JITTER_MAX);
}

/** Our initiation was answered: stop retransmitting, and the next round counts from zero. */
export function handshakeComplete(peer: Peer): void {
  peer.retransmitHandshakeAt = null;
  peer.handshakeAttempts = 0;
}

/** A new keypair was installed: its key material lives at most ZERO_KEYS_AFTER from now. */
export function armZeroKeyMaterial(peer: Peer, now: number): void {
  peer.zeroKeyMaterialAt = now + ZERO_KEYS_AFTER;
}

/** The peer's sessions were reset: no timer has anything left to do. */
export function disarmAllTimers(peer: Peer): void {
  peer.retransmitHandshakeAt = null;
  peer.shared.clearFirstDataReceived(peer.id);
  peer.shared.clearFirstDataSent(peer.id);
  peer.zeroKeyMaterialAt = null;
}

// ─── deadlines ───

/** When send-keepalive is due: data came in and nothing went back for KEEPALIVE_TIMEOUT. */
export function sendKeepaliveDeadline(peer: Peer): number | null {
  const at = peer.shared.firstDataReceivedAt(peer.id);
  return Number.isNaN(at) ? null : at + KEEPALIVE_TIMEOUT;
}

/** When new-handshake is due: data went out and nothing came back for KEEPALIVE + REKEY_TIMEOUT. */
export function newHandshakeDeadline(peer: Peer): number | null {
  const at = peer.shared.firstDataSentAt(peer.id);
  return Number.isNaN(at) ? null : at + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
}

/** When persistent keepalive is due: its interval after the last authenticated packet. */
export function persistentKeepaliveDeadline(peer: Peer): number | null {
  if (peer.persistentKeepalive === 0) return null;
  const traversal = peer.shared.lastTraversalAt(peer.id);
  const from = Number.isNaN(traversal)
    ? peer.persistentKeepaliveArmedAt
    : Math.max(traversal, peer.persistentKeepaliveArmedAt);
  return from === -Infinity ? null : from + peer.persistentKeepalive * 1000;
}

/** The earliest armed timer deadline of the peer, or null. */
export function nextTimerDeadline(peer: Peer): number | null {
  let next: number | null = null;
  for (
    const at of [
      peer.retransmitHandshakeAt,
      sendKeepaliveDeadline(peer),
      newHandshakeDeadline(peer),
      peer.zeroKeyMaterialAt,
      persistentKeepaliveDeadline(peer),
    ]
  ) {
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}

function due(at: number | null, now: number): boolean {
  return at !== null && now >= at;
}

// ─── the rules ───

/**
 * REKEY_ATTEMPT_TIME passed without an answer (the retransmit deadline came after the last
 * allowed retransmission): stop, drop what waited, and let the keys go ZERO_KEYS_AFTER later.
 */
export function giveUpHandshake(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(peer.retransmitHandshakeAt, now)) return;
  if (peer.handshakeAttempts < MAX_HANDSHAKE_RETRANSMISSIONS) return;
  peer.retransmitHandshakeAt = null;
  actions.fired("giveUpHandshake", peer, now);
  actions.abandonHandshake(peer);
  peer.zeroKeyMaterialAt ??= now + ZERO_KEYS_AFTER;
}

/** No response to our initiation within REKEY_TIMEOUT (+ jitter): send a fresh one. */
export function retransmitHandshake(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(peer.retransmitHandshakeAt, now)) return;
  peer.retransmitHandshakeAt = null;
  actions.fired("retransmitHandshake", peer, now);
  peer.handshakeAttempts++;
  actions.initiateHandshake(peer, now, true);
}

/** We received data and sent nothing back for KEEPALIVE_TIMEOUT: send a keepalive. */
export function sendKeepalive(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(sendKeepaliveDeadline(peer), now)) return;
  peer.shared.clearFirstDataReceived(peer.id);
  actions.fired("sendKeepalive", peer, now);
  actions.sendKeepalive(peer, now);
}

/** We sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: start a handshake. */
export function newHandshake(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(newHandshakeDeadline(peer), now)) return;
  peer.shared.clearFirstDataSent(peer.id);
  actions.fired("newHandshake", peer, now);
  actions.initiateHandshake(peer, now, false);
}

/** Nothing authenticated either way for the configured interval: send a keepalive. */
export function persistentKeepalive(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(persistentKeepaliveDeadline(peer), now)) return;
  peer.persistentKeepaliveArmedAt = now;
  actions.fired("persistentKeepalive", peer, now);
  actions.sendKeepalive(peer, now);
}

/** No new session for ZERO_KEYS_AFTER (3 × REJECT_AFTER_TIME): wipe every key. */
export function zeroKeyMaterial(peer: Peer, now: number, actions: TimerActions): void {
  if (!due(peer.zeroKeyMaterialAt, now)) return;
  peer.zeroKeyMaterialAt = null;
  actions.fired("zeroKeyMaterial", peer, now);
  actions.resetSessions(peer);
}

/** The one timer pass: every rule of the peer that is due at `now`, in TIMER_RULES order. */
export function runTimerRules(peer: Peer, now: number, actions: TimerActions): void {
  giveUpHandshake(peer, now, actions);
  retransmitHandshake(peer, now, actions);
  sendKeepalive(peer, now, actions);
  newHandshake(peer, now, actions);
  persistentKeepalive(peer, now, actions);
  zeroKeyMaterial(peer, now, actions);
}

// ─── per-packet rules (checked by every thread's data path) ───

/** Send counters at which the sender asks for a new handshake (the paper's limit, or ours). */
export const REKEY_AT_COUNTER = Math.min(
  Number(REKEY_AFTER_MESSAGES),
  SEND_COUNTER_LIMIT - 2 ** 20,
);
/** An initiator's keypair this old gets a new handshake when a packet arrives under it. */
export const REKEY_ON_RECEIVE_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;

/** A keypair this old (ms) is used for nothing, sending or receiving. */
export function rejectAfterTime(age: number): boolean {
  return age >= REJECT_AFTER_TIME;
}

/** After sealing with send counter `counter`: REKEY_AFTER_MESSAGES (or our limit) is near. */
export function rekeyAfterMessages(counter: number): boolean {
  return counter + 1 >= REKEY_AT_COUNTER;
}

/** After sealing: the initiator of a keypair rekeys once it is REKEY_AFTER_TIME old. */
export function rekeyAfterTimeOnSend(isInitiator: boolean, age: number): boolean {
  return isInitiator && age >= REKEY_AFTER_TIME;
}

/**
 * After opening under the current keypair: its initiator rekeys once it is REJECT_AFTER_TIME −
 * KEEPALIVE_TIMEOUT − REKEY_TIMEOUT old, so a peer that only receives renews before expiry.
 */
export function rekeyAfterTimeOnReceive(isInitiator: boolean, age: number): boolean {
  return isInitiator && age >= REKEY_ON_RECEIVE_AGE;
}
