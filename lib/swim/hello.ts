/**
 * Hello: how a node joins through a seed whose key it does not know yet. It cannot encrypt
 * to an unknown key, so it sends `header | its alive record | Ed25519 signature over
 * HELLO_CONTEXT ‖ header ‖ record`. The seed checks trust (cheap, first), a rate limit, the
 * signature and the header counter (replay) before it changes anything, then answers with an
 * ordinary encrypted Ack that carries its own record.
 */

import { HEADER_BYTES, HELLO_CONTEXT, ItemKind, MessageType } from "./constants.ts";
import { SIGNATURE_BYTES } from "./constants.ts";
import { writeHeader } from "./header.ts";
import { type AliveRecord, readItem } from "./records.ts";
import type { SwimSigner } from "./swim_crypto.ts";
import { SwimDecodeError } from "./swim_errors.ts";

function helloMessage(datagram: Uint8Array): Uint8Array {
  const body = datagram.subarray(0, datagram.length - SIGNATURE_BYTES);
  const message = new Uint8Array(HELLO_CONTEXT.length + body.length);
  message.set(HELLO_CONTEXT);
  message.set(body, HELLO_CONTEXT.length);
  return message;
}

/** Builds a signed Hello carrying our record. */
export function encodeHello(
  signer: SwimSigner,
  epoch: number,
  counter: number,
  record: AliveRecord,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + record.bytes.length + SIGNATURE_BYTES);
  writeHeader(out, MessageType.Hello, epoch, 0, counter, signer.publicKey);
  out.set(record.bytes, HEADER_BYTES);
  out.set(signer.sign(helloMessage(out)), out.length - SIGNATURE_BYTES);
  return out;
}

/** A parsed, not yet verified Hello. */
export interface HelloParts {
  /** The sender's alive record (its own signature is checked separately). */
  record: AliveRecord;
  /** What the Hello signature covers. */
  message: Uint8Array;
  /** The Hello signature. */
  signature: Uint8Array;
}

/** Splits a Hello datagram (header already checked); throws only SwimDecodeError. */
export function decodeHello(datagram: Uint8Array, sender: Uint8Array): HelloParts {
  if (datagram.length < HEADER_BYTES + SIGNATURE_BYTES + 3) {
    throw new SwimDecodeError("truncated", "Hello too short");
  }
  const end = datagram.length - SIGNATURE_BYTES;
  const { item, next } = readItem(datagram.subarray(0, end), HEADER_BYTES);
  if (item === null || item.kind !== ItemKind.Alive || next !== end) {
    throw new SwimDecodeError("bad-hello", "Hello must carry exactly one alive record");
  }
  for (let i = 0; i < 32; i++) {
    if (item.subject[i] !== sender[i]) {
      throw new SwimDecodeError("bad-hello", "Hello record is not about its sender");
    }
  }
  return {
    record: item,
    message: helloMessage(datagram),
    signature: datagram.subarray(end),
  };
}
