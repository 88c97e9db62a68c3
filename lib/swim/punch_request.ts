/**
 * The punch request: the body of a Punch (0x0A) datagram, signed end to end by the member
 * that wants a direct path (the requester) and naming the member it wants to reach (the
 * target), both at their current boot epochs, and a nonce that grows per requester epoch. The
 * rendezvous that forwards it can neither make one up (no signature), replay one (the target
 * keeps the newest (epoch, nonce) it accepted per requester, and a request names the target's
 * epoch) nor redirect the punch (the request carries no address: each side probes the other's
 * candidates from its self-signed record). Layout in `wire_format.md`.
 */

import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./constants.ts";
import { readU64, writeU64 } from "./header.ts";
import type { SwimSigner } from "./swim_crypto.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** What the requester's signature covers first (domain separation from every other signature). */
export const PUNCH_SIGNATURE_CONTEXT = new TextEncoder().encode("meshguard swim punch v1\0");

/** Bytes of an encoded punch request (fields and signature). */
export const PUNCH_REQUEST_BYTES = 2 * PUBLIC_KEY_BYTES + 3 * 8 + SIGNATURE_BYTES;

const FIELDS = PUNCH_REQUEST_BYTES - SIGNATURE_BYTES;

/** A decoded punch request (its signature not yet checked: `verifyPunchRequest`). */
export interface PunchRequest {
  /** Who wants the direct path (and signed the request). */
  requester: Uint8Array;
  /** The requester's boot epoch. */
  requesterEpoch: number;
  /** Whom it wants to reach. */
  target: Uint8Array;
  /** The target's boot epoch as the requester knows it (a restart voids old requests). */
  targetEpoch: number;
  /** Grows with every request the requester makes in its epoch (replay protection). */
  nonce: number;
  /** The whole encoded request, forwarded as is. */
  bytes: Uint8Array;
}

function checkU64(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `punch request ${name} must be an integer in ${min}..2^53-1, got ${value}`,
    );
  }
}

/** Builds and signs a punch request from `signer` (the requester) to `target`. */
export function makePunchRequest(
  signer: SwimSigner,
  requesterEpoch: number,
  target: Uint8Array,
  targetEpoch: number,
  nonce: number,
): PunchRequest {
  checkU64("requester epoch", requesterEpoch, 1);
  checkU64("target epoch", targetEpoch, 1);
  checkU64("nonce", nonce, 0);
  if (target.length !== PUBLIC_KEY_BYTES) throw new RangeError("punch target must be 32 bytes");
  const out = new Uint8Array(PUNCH_REQUEST_BYTES);
  out.set(signer.publicKey, 0);
  writeU64(out, 32, requesterEpoch);
  out.set(target, 40);
  writeU64(out, 72, targetEpoch);
  writeU64(out, 80, nonce);
  out.set(signer.sign(signedPunchPortion(out)), FIELDS);
  return {
    requester: signer.publicKey,
    requesterEpoch,
    target: target.slice(),
    targetEpoch,
    nonce,
    bytes: out,
  };
}

/** The bytes the requester's signature covers: context ‖ the fields. */
export function signedPunchPortion(bytes: Uint8Array): Uint8Array {
  const message = new Uint8Array(PUNCH_SIGNATURE_CONTEXT.length + FIELDS);
  message.set(PUNCH_SIGNATURE_CONTEXT);
  message.set(bytes.subarray(0, FIELDS), PUNCH_SIGNATURE_CONTEXT.length);
  return message;
}

/** Decodes a punch request (no signature check); throws only SwimDecodeError. */
export function decodePunchRequest(bytes: Uint8Array): PunchRequest {
  if (bytes.length !== PUNCH_REQUEST_BYTES) {
    throw new SwimDecodeError(
      "bad-length",
      `punch request of ${bytes.length} bytes, expected ${PUNCH_REQUEST_BYTES}`,
    );
  }
  const requesterEpoch = readU64(bytes, 32);
  const targetEpoch = readU64(bytes, 72);
  const nonce = readU64(bytes, 80);
  // readU64 gives -1 above 2^53; epochs are never 0.
  if (requesterEpoch < 1 || targetEpoch < 1 || nonce < 0) {
    throw new SwimDecodeError("bad-epoch", "punch request epoch of 0 or field above 2^53");
  }
  const copy = bytes.slice();
  return {
    requester: copy.subarray(0, 32),
    requesterEpoch,
    target: copy.subarray(40, 72),
    targetEpoch,
    nonce,
    bytes: copy,
  };
}

/** True when the request's signature is the requester's. */
export function verifyPunchRequest(
  request: PunchRequest,
  verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
): boolean {
  return verify(
    request.requester,
    signedPunchPortion(request.bytes),
    request.bytes.subarray(FIELDS),
  );
}
