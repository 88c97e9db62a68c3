/**
 * The Noise_IKpsk2 handshake exactly as WireGuard specifies it (paper §5.4.2–§5.4.5): building
 * and consuming initiations and responses, and deriving the transport keys. Pure functions
 * over bytes: the caller owns peers, indices, timers, MACs and replay/flood policy.
 */

import {
  CONSTRUCTION,
  IDENTIFIER,
  KEY_LEN,
  MESSAGE_HANDSHAKE_INITIATION,
  MESSAGE_HANDSHAKE_RESPONSE,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
  TIMESTAMP_LEN,
} from "./constants.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** Offsets inside a handshake initiation (148 bytes). */
export const INITIATION = {
  sender: 4,
  ephemeral: 8,
  static: 40,
  timestamp: 88,
  mac1: 116,
  mac2: 132,
} as const;

/** Offsets inside a handshake response (92 bytes). */
export const RESPONSE = {
  sender: 4,
  receiver: 8,
  ephemeral: 12,
  empty: 44,
  mac1: 60,
  mac2: 76,
} as const;

/** Our static key pair with what can be computed once from it. */
export interface LocalStatic {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** What the initiator remembers between sending an initiation and receiving the response. */
export interface InitiatorState {
  localIndex: number;
  ephemeralPrivate: Uint8Array;
  chainingKey: Uint8Array;
  hash: Uint8Array;
}

/** An authenticated initiation, ready to be answered. */
export interface ConsumedInitiation {
  remoteStatic: Uint8Array;
  remoteIndex: number;
  remoteEphemeral: Uint8Array;
  timestamp: Uint8Array;
  chainingKey: Uint8Array;
  hash: Uint8Array;
}

/** Transport keys of one completed handshake, from the local side's point of view. */
export interface SessionKeys {
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
}

/** The values every handshake starts from: C = HASH(CONSTRUCTION), H = HASH(C ‖ IDENTIFIER). */
export function initialChainingKeyAndHash(
  p: NoisePrimitives,
): { chainingKey: Uint8Array; hash: Uint8Array } {
  const chainingKey = p.hash(encoder.encode(CONSTRUCTION));
  return { chainingKey, hash: p.hash(chainingKey, encoder.encode(IDENTIFIER)) };
}

/**
 * Builds an initiation to `remoteStatic` (MAC fields left zero: the cookie layer fills them).
 * Returns null when a DH result is degenerate (a low-order key).
 */
export function createInitiation(
  p: NoisePrimitives,
  local: LocalStatic,
  remoteStatic: Uint8Array,
  localIndex: number,
  timestamp: Uint8Array,
): { message: Uint8Array; state: InitiatorState } | null {
  const message = new Uint8Array(MESSAGE_INITIATION_SIZE);
  const view = new DataView(message.buffer);
  message[0] = MESSAGE_HANDSHAKE_INITIATION;
  view.setUint32(INITIATION.sender, localIndex, true);

  let { chainingKey, hash } = initialChainingKeyAndHash(p);
  hash = p.hash(hash, remoteStatic);
  const ephemeralPrivate = p.generatePrivateKey();
  const ephemeralPublic = p.publicKey(ephemeralPrivate);
  [chainingKey] = p.kdf(1, chainingKey, ephemeralPublic);
  message.set(ephemeralPublic, INITIATION.ephemeral);
  hash = p.hash(hash, ephemeralPublic);

  const es = p.dh(ephemeralPrivate, remoteStatic);
  if (es === null) return null;
  let key: Uint8Array;
  [chainingKey, key] = p.kdf(2, chainingKey, es);
  const encryptedStatic = p.aeadSeal(key, 0n, local.publicKey, hash);
  message.set(encryptedStatic, INITIATION.static);
  hash = p.hash(hash, encryptedStatic);

  const ss = p.dh(local.privateKey, remoteStatic);
  if (ss === null) return null;
  [chainingKey, key] = p.kdf(2, chainingKey, ss);
  const encryptedTimestamp = p.aeadSeal(key, 0n, timestamp, hash);
  message.set(encryptedTimestamp, INITIATION.timestamp);
  hash = p.hash(hash, encryptedTimestamp);
  es.fill(0);
  ss.fill(0);
  key.fill(0);
  return { message, state: { localIndex, ephemeralPrivate, chainingKey, hash } };
}

/**
 * Authenticates an initiation addressed to us (MACs already checked) and recovers the
 * initiator's static key and timestamp. Null when it does not decrypt.
 */
export function consumeInitiation(
  p: NoisePrimitives,
  local: LocalStatic,
  message: Uint8Array,
): ConsumedInitiation | null {
  if (message.length !== MESSAGE_INITIATION_SIZE || message[0] !== MESSAGE_HANDSHAKE_INITIATION) {
    return null;
  }
  const view = new DataView(message.buffer, message.byteOffset, message.length);
  const remoteEphemeral = message.slice(INITIATION.ephemeral, INITIATION.ephemeral + KEY_LEN);
  const encryptedStatic = message.subarray(INITIATION.static, INITIATION.timestamp);
  const encryptedTimestamp = message.subarray(INITIATION.timestamp, INITIATION.mac1);

  let { chainingKey, hash } = initialChainingKeyAndHash(p);
  hash = p.hash(hash, local.publicKey);
  [chainingKey] = p.kdf(1, chainingKey, remoteEphemeral);
  hash = p.hash(hash, remoteEphemeral);
  const es = p.dh(local.privateKey, remoteEphemeral);
  if (es === null) return null;
  let key: Uint8Array;
  [chainingKey, key] = p.kdf(2, chainingKey, es);
  es.fill(0);
  const remoteStatic = p.aeadOpen(key, 0n, encryptedStatic, hash);
  if (remoteStatic === null) return null;
  hash = p.hash(hash, encryptedStatic);

  const ss = p.dh(local.privateKey, remoteStatic);
  if (ss === null) return null;
  [chainingKey, key] = p.kdf(2, chainingKey, ss);
  ss.fill(0);
  const timestamp = p.aeadOpen(key, 0n, encryptedTimestamp, hash);
  key.fill(0);
  if (timestamp === null || timestamp.length !== TIMESTAMP_LEN) return null;
  hash = p.hash(hash, encryptedTimestamp);
  return {
    remoteStatic,
    remoteIndex: view.getUint32(INITIATION.sender, true),
    remoteEphemeral,
    timestamp,
    chainingKey,
    hash,
  };
}

/**
 * Builds the response to a consumed initiation and derives the responder's transport keys.
 * `presharedKey` is Q in the paper (32 zero bytes when none is configured).
 */
export function createResponse(
  p: NoisePrimitives,
  initiation: ConsumedInitiation,
  localIndex: number,
  presharedKey: Uint8Array,
): { message: Uint8Array; keys: SessionKeys } | null {
  const message = new Uint8Array(MESSAGE_RESPONSE_SIZE);
  const view = new DataView(message.buffer);
  message[0] = MESSAGE_HANDSHAKE_RESPONSE;
  view.setUint32(RESPONSE.sender, localIndex, true);
  view.setUint32(RESPONSE.receiver, initiation.remoteIndex, true);

  const ephemeralPrivate = p.generatePrivateKey();
  const ephemeralPublic = p.publicKey(ephemeralPrivate);
  message.set(ephemeralPublic, RESPONSE.ephemeral);
  const ee = p.dh(ephemeralPrivate, initiation.remoteEphemeral);
  const se = p.dh(ephemeralPrivate, initiation.remoteStatic);
  ephemeralPrivate.fill(0);
  const mixed = mixResponse(p, initiation, ephemeralPublic, ee, se, presharedKey);
  if (!mixed) return null;
  const { chainingKey, hash, key } = mixed;
  message.set(p.aeadSeal(key, 0n, EMPTY, hash), RESPONSE.empty);
  key.fill(0);
  const [initiatorSend, initiatorReceive] = p.kdf(2, chainingKey, EMPTY);
  chainingKey.fill(0);
  return { message, keys: { sendKey: initiatorReceive, receiveKey: initiatorSend } };
}

/**
 * Consumes the response to our initiation (MACs already checked, receiver index already
 * matched to `state`) and derives the initiator's transport keys. Null when it does not
 * authenticate, e.g. because the preshared keys differ.
 */
export function consumeResponse(
  p: NoisePrimitives,
  local: LocalStatic,
  state: InitiatorState,
  presharedKey: Uint8Array,
  message: Uint8Array,
): SessionKeys | null {
  if (message.length !== MESSAGE_RESPONSE_SIZE || message[0] !== MESSAGE_HANDSHAKE_RESPONSE) {
    return null;
  }
  const remoteEphemeral = message.subarray(RESPONSE.ephemeral, RESPONSE.ephemeral + KEY_LEN);
  const encryptedNothing = message.subarray(RESPONSE.empty, RESPONSE.mac1);
  const ee = p.dh(state.ephemeralPrivate, remoteEphemeral);
  const se = p.dh(local.privateKey, remoteEphemeral);
  const mixed = mixResponse(p, state, remoteEphemeral, ee, se, presharedKey);
  if (!mixed) return null;
  const { chainingKey, hash, key } = mixed;
  const opened = p.aeadOpen(key, 0n, encryptedNothing, hash);
  key.fill(0);
  if (opened === null) return null;
  const [sendKey, receiveKey] = p.kdf(2, chainingKey, EMPTY);
  chainingKey.fill(0);
  state.ephemeralPrivate.fill(0);
  return { sendKey, receiveKey };
}

/**
 * The part of the response both sides compute alike (paper §5.4.3): mix in the responder's
 * ephemeral key, the two DH results and the preshared key. Returns the chaining key, the
 * hash to authenticate the empty payload with, and its key; null for a low-order key.
 */
function mixResponse(
  p: NoisePrimitives,
  start: { chainingKey: Uint8Array; hash: Uint8Array },
  responderEphemeral: Uint8Array,
  ee: Uint8Array | null,
  se: Uint8Array | null,
  presharedKey: Uint8Array,
): { chainingKey: Uint8Array; hash: Uint8Array; key: Uint8Array } | null {
  if (ee === null || se === null) {
    ee?.fill(0);
    se?.fill(0);
    return null;
  }
  let [chainingKey] = p.kdf(1, start.chainingKey, responderEphemeral);
  const hashed = p.hash(start.hash, responderEphemeral);
  [chainingKey] = p.kdf(1, chainingKey, ee);
  [chainingKey] = p.kdf(1, chainingKey, se);
  ee.fill(0);
  se.fill(0);
  const [nextChainingKey, tau, key] = p.kdf(3, chainingKey, presharedKey);
  const hash = p.hash(hashed, tau);
  tau.fill(0);
  return { chainingKey: nextChainingKey, hash, key };
}
