/**
 * Hello: how a node joins through a seed whose key it does not know yet. It cannot encrypt
 * to an unknown key, so it sends `header | receiver key | cookie | its alive record | Ed25519
 * signature over HELLO_CONTEXT ‖ everything before it`. Its first Hello to a seed names no
 * receiver and carries no cookie; the seed answers that with a HelloCookie (smaller than the
 * Hello, no state kept), and the joiner's next Hello names the seed's key and carries the
 * cookie. So a Hello the seed verifies is bound to that seed (it cannot be replayed to another
 * member), is fresh (the cookie expires), and comes from an address that receives (the cookie
 * reached it): only such Hellos reach the rate limits and the signature checks.
 */

import { HEADER_BYTES, HELLO_CONTEXT, HELLO_COOKIE_BYTES, ItemKind } from "./constants.ts";
import { MessageType, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./constants.ts";
import { writeHeader } from "./header.ts";
import { type AliveRecord, MAX_RECORD_CERT_BYTES, readItem } from "./records.ts";
import type { SwimSigner } from "./swim_crypto.ts";
import { SwimDecodeError } from "./swim_errors.ts";

const RECEIVER_AT = HEADER_BYTES;
const COOKIE_AT = RECEIVER_AT + PUBLIC_KEY_BYTES;
const RECORD_AT = COOKIE_AT + HELLO_COOKIE_BYTES;

/** Length of the part of a Hello's signature a HelloCookie echoes (binds the answer to it). */
export const HELLO_ECHO_BYTES = 16;

/** Length of a HelloCookie: header ‖ cookie ‖ echo. */
export const HELLO_COOKIE_MESSAGE_BYTES = HEADER_BYTES + HELLO_COOKIE_BYTES + HELLO_ECHO_BYTES;

const NO_RECEIVER = new Uint8Array(PUBLIC_KEY_BYTES);
const NO_COOKIE = new Uint8Array(HELLO_COOKIE_BYTES);

function helloMessage(datagram: Uint8Array): Uint8Array {
  const body = datagram.subarray(0, datagram.length - SIGNATURE_BYTES);
  const message = new Uint8Array(HELLO_CONTEXT.length + body.length);
  message.set(HELLO_CONTEXT);
  message.set(body, HELLO_CONTEXT.length);
  return message;
}

/**
 * Builds a signed Hello carrying our record; `receiver` and `cookie` come from the seed's
 * HelloCookie (left out in the first Hello to a seed).
 */
export function encodeHello(
  signer: SwimSigner,
  epoch: number,
  counter: number,
  record: AliveRecord,
  receiver: Uint8Array = NO_RECEIVER,
  cookie: Uint8Array = NO_COOKIE,
): Uint8Array {
  const out = new Uint8Array(RECORD_AT + record.bytes.length + SIGNATURE_BYTES);
  writeHeader(out, MessageType.Hello, epoch, 0, counter, signer.publicKey);
  out.set(receiver, RECEIVER_AT);
  out.set(cookie, COOKIE_AT);
  out.set(record.bytes, RECORD_AT);
  out.set(signer.sign(helloMessage(out)), out.length - SIGNATURE_BYTES);
  return out;
}

/** A parsed, not yet verified Hello. */
export interface HelloParts {
  /** The key of the seed the Hello is meant for (all zero in a first Hello). */
  receiver: Uint8Array;
  /** The seed's cookie (all zero in a first Hello). */
  cookie: Uint8Array;
  /** The sender's alive record (its own signature is checked separately). */
  record: AliveRecord;
  /** What the Hello signature covers. */
  message: Uint8Array;
  /** The Hello signature. */
  signature: Uint8Array;
}

/**
 * Splits a Hello datagram (header already checked, `epoch` is the header's sender epoch);
 * throws only SwimDecodeError.
 */
export function decodeHello(datagram: Uint8Array, sender: Uint8Array, epoch: number): HelloParts {
  if (datagram.length < RECORD_AT + SIGNATURE_BYTES + 3) {
    throw new SwimDecodeError("truncated", "Hello too short");
  }
  const end = datagram.length - SIGNATURE_BYTES;
  const { item, next } = readItem(datagram.subarray(0, end), RECORD_AT);
  if (item === null || item.kind !== ItemKind.Alive || next !== end) {
    throw new SwimDecodeError("bad-hello", "Hello must carry exactly one alive record");
  }
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) {
    if (item.subject[i] !== sender[i]) {
      throw new SwimDecodeError("bad-hello", "Hello record is not about its sender");
    }
  }
  if (item.epoch !== epoch) {
    throw new SwimDecodeError("bad-hello", "Hello record is not of the sender's epoch");
  }
  return {
    receiver: datagram.subarray(RECEIVER_AT, COOKIE_AT),
    cookie: datagram.subarray(COOKIE_AT, RECORD_AT),
    record: item,
    message: helloMessage(datagram),
    signature: datagram.subarray(end),
  };
}

/** The part of a Hello a HelloCookie echoes: the start of its signature. */
export function helloEcho(hello: Uint8Array): Uint8Array {
  const start = hello.length - SIGNATURE_BYTES;
  return hello.subarray(start, start + HELLO_ECHO_BYTES);
}

/** Builds a seed's HelloCookie answering `hello` (whose sender epoch is `joinerEpoch`). */
export function encodeHelloCookie(
  seedKey: Uint8Array,
  seedEpoch: number,
  joinerEpoch: number,
  cookie: Uint8Array,
  hello: Uint8Array,
  certificate: Uint8Array | null = null,
): Uint8Array {
  // The answer never outgrows the Hello (no amplification): the certificate is left out then.
  const withCert = certificate !== null &&
    HELLO_COOKIE_MESSAGE_BYTES + certificate.length < hello.length;
  const out = new Uint8Array(HELLO_COOKIE_MESSAGE_BYTES + (withCert ? certificate.length : 0));
  writeHeader(out, MessageType.HelloCookie, seedEpoch, joinerEpoch, 0, seedKey);
  out.set(cookie, HEADER_BYTES);
  out.set(helloEcho(hello), HEADER_BYTES + HELLO_COOKIE_BYTES);
  if (withCert) out.set(certificate, HELLO_COOKIE_MESSAGE_BYTES);
  return out;
}

/**
 * Splits a HelloCookie (header already checked): the cookie, the echo and the seed's org
 * certificate when one follows (186 or 314 bytes); throws only SwimDecodeError.
 */
export function decodeHelloCookie(
  datagram: Uint8Array,
): { cookie: Uint8Array; echo: Uint8Array; certificate: Uint8Array | null } {
  const extra = datagram.length - HELLO_COOKIE_MESSAGE_BYTES;
  // A certificate is 186 (v1) or 314 (v2) bytes; nothing else may follow the echo.
  if (extra !== 0 && extra !== 186 && extra !== MAX_RECORD_CERT_BYTES) {
    throw new SwimDecodeError("bad-length", "HelloCookie size");
  }
  return {
    cookie: datagram.subarray(HEADER_BYTES, HEADER_BYTES + HELLO_COOKIE_BYTES),
    echo: datagram.subarray(HEADER_BYTES + HELLO_COOKIE_BYTES, HELLO_COOKIE_MESSAGE_BYTES),
    certificate: extra === 0 ? null : datagram.subarray(HELLO_COOKIE_MESSAGE_BYTES),
  };
}
