/**
 * MAC1, MAC2 and cookie replies (paper §5.4.4, §5.4.7): MAC1 proves the sender knows our
 * public key, so every handshake message is checked cheaply before any DH; under load MAC2
 * proves the sender owns its source address, and cookie replies hand out the proof.
 */

import { constantTimeEqual } from "../encoding/constant_time.ts";
import {
  COOKIE_LEN,
  COOKIE_NONCE_LEN,
  COOKIE_SECRET_LATENCY,
  COOKIE_SECRET_MAX_AGE,
  LABEL_COOKIE,
  LABEL_MAC1,
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_HANDSHAKE_COOKIE,
} from "./constants.ts";
import { type Endpoint, endpointBytes } from "./endpoint.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";

const encoder = new TextEncoder();

/** Offsets inside a cookie reply (64 bytes). */
export const COOKIE_REPLY = { receiver: 4, nonce: 8, cookie: 32 } as const;

/** MAC1 and MAC2 sit in the last 32 bytes of a handshake message. */
function macOffsets(message: Uint8Array): { mac1: number; mac2: number } {
  return { mac1: message.length - 2 * COOKIE_LEN, mac2: message.length - COOKIE_LEN };
}

/** The responder side: validates MACs of messages sent to us and makes cookie replies. */
export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly encryptionKey: Uint8Array;
  private secret: Uint8Array;
  private secretBirth: number;

  constructor(private readonly p: NoisePrimitives, localPublicKey: Uint8Array, now: number) {
    this.mac1Key = p.hash(encoder.encode(LABEL_MAC1), localPublicKey);
    this.encryptionKey = p.hash(encoder.encode(LABEL_COOKIE), localPublicKey);
    this.secret = p.randomBytes(32);
    this.secretBirth = now;
  }

  /** True when the message's MAC1 is right for our public key (checked before anything else). */
  checkMac1(message: Uint8Array): boolean {
    const { mac1, mac2 } = macOffsets(message);
    const expected = this.p.mac(this.mac1Key, message.subarray(0, mac1));
    return constantTimeEqual(expected, message.subarray(mac1, mac2));
  }

  /** True when MAC2 carries a currently valid cookie for the source endpoint. */
  checkMac2(message: Uint8Array, source: Endpoint, now: number): boolean {
    const { mac2 } = macOffsets(message);
    const expected = this.p.mac(this.cookieFor(source, now), message.subarray(0, mac2));
    return constantTimeEqual(expected, message.subarray(mac2));
  }

  /** The cookie reply to `message` (whose sender index is at byte 4) from `source`. */
  createReply(message: Uint8Array, source: Endpoint, now: number): Uint8Array {
    const { mac1, mac2 } = macOffsets(message);
    const reply = new Uint8Array(MESSAGE_COOKIE_REPLY_SIZE);
    reply[0] = MESSAGE_HANDSHAKE_COOKIE;
    reply.set(message.subarray(4, 8), COOKIE_REPLY.receiver);
    const nonce = this.p.randomBytes(COOKIE_NONCE_LEN);
    reply.set(nonce, COOKIE_REPLY.nonce);
    const sealed = this.p.xaeadSeal(
      this.encryptionKey,
      nonce,
      this.cookieFor(source, now),
      message.subarray(mac1, mac2),
    );
    reply.set(sealed, COOKIE_REPLY.cookie);
    return reply;
  }

  private cookieFor(source: Endpoint, now: number): Uint8Array {
    if (now - this.secretBirth >= COOKIE_SECRET_MAX_AGE) {
      this.secret.fill(0);
      this.secret = this.p.randomBytes(32);
      this.secretBirth = now;
    }
    return this.p.mac(this.secret, endpointBytes(source));
  }
}

/** The initiator side for one peer: adds MACs to what we send, keeps the cookie we were given. */
export class CookieJar {
  private readonly mac1Key: Uint8Array;
  private readonly decryptionKey: Uint8Array;
  private lastMac1: Uint8Array | null = null;
  private cookie: Uint8Array | null = null;
  private cookieBirth = 0;

  constructor(private readonly p: NoisePrimitives, remotePublicKey: Uint8Array) {
    this.mac1Key = p.hash(encoder.encode(LABEL_MAC1), remotePublicKey);
    this.decryptionKey = p.hash(encoder.encode(LABEL_COOKIE), remotePublicKey);
  }

  /** Fills MAC1 (always) and MAC2 (when we hold a fresh cookie) of an outgoing message. */
  addMacs(message: Uint8Array, now: number): void {
    const { mac1, mac2 } = macOffsets(message);
    const mac = this.p.mac(this.mac1Key, message.subarray(0, mac1));
    message.set(mac, mac1);
    this.lastMac1 = mac;
    const fresh = this.cookie !== null &&
      now - this.cookieBirth < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY;
    if (fresh) message.set(this.p.mac(this.cookie!, message.subarray(0, mac2)), mac2);
    else message.fill(0, mac2);
  }

  /**
   * Takes the cookie out of a reply to the last message we sent; false when it does not
   * decrypt (forged, or not a reply to our latest MAC1).
   */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (reply.length !== MESSAGE_COOKIE_REPLY_SIZE || this.lastMac1 === null) return false;
    const cookie = this.p.xaeadOpen(
      this.decryptionKey,
      reply.subarray(COOKIE_REPLY.nonce, COOKIE_REPLY.cookie),
      reply.subarray(COOKIE_REPLY.cookie),
      this.lastMac1,
    );
    if (cookie === null || cookie.length !== COOKIE_LEN) return false;
    this.cookie = cookie;
    this.cookieBirth = now;
    // One cookie per MAC1: a replayed reply must not refresh it.
    this.lastMac1 = null;
    return true;
  }
}
