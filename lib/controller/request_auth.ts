/**
 * Signed reads: `/v1/config/{id}` and `/v1/peers/{id}` hand out pairwise PSKs, so a node proves
 * it is `id` with its identity. The request carries
 *
 *   authorization: Meshguard-Ed25519 <timestamp ms> <base64 signature>
 *
 * where the signature (Ed25519, the node's meshguard identity) covers the UTF-8 string
 * `meshguard-read-v1\n<node id>\n<path>\n<timestamp ms>`, and the timestamp lies within the skew
 * of the controller's clock. Without `--allow-unsigned` an unsigned read is refused (401); with
 * it, the proof of concept's agent may read unsigned.
 */

import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import { ControllerRequestError } from "./controller_error.ts";
import { ed25519Signer, ed25519Verify } from "./ed25519_keys.ts";

/** The authorization scheme's name. */
export const READ_AUTH_SCHEME = "Meshguard-Ed25519";

function readBytes(nodeId: string, path: string, timestampMs: number): Uint8Array {
  return new TextEncoder().encode(`meshguard-read-v1\n${nodeId}\n${path}\n${timestampMs}`);
}

/** A signer of reads for one identity seed (the caller may wipe its seed afterwards). */
export function readSigner(
  seed: Uint8Array,
): (nodeId: string, path: string, nowMs: number) => string {
  const sign = ed25519Signer(seed);
  return (nodeId, path, nowMs) =>
    `${READ_AUTH_SCHEME} ${nowMs} ${encodeBase64(sign(readBytes(nodeId, path, nowMs)))}`;
}

/**
 * Checks a read's authorization header against the node's key; null header: unsigned. Throws
 * ControllerRequestError(401) naming what is wrong.
 */
export function verifyRead(
  header: string | null,
  nodeId: string,
  path: string,
  publicKey: Uint8Array,
  nowMs: number,
  skewSeconds: number,
): void {
  const parts = header?.trim().split(/\s+/) ?? [];
  if (parts.length !== 3 || parts[0] !== READ_AUTH_SCHEME || !/^[0-9]{1,16}$/.test(parts[1])) {
    throw new ControllerRequestError(
      401,
      `this read needs "authorization: ${READ_AUTH_SCHEME} <ms> <signature>" by ${nodeId}'s identity (meshguard up --controller sends it)`,
    );
  }
  const timestampMs = Number(parts[1]);
  if (Math.abs(timestampMs - nowMs) > skewSeconds * 1000) {
    throw new ControllerRequestError(
      401,
      `read signature timestamp is more than ${skewSeconds}s from the controller's clock; check the node's clock`,
    );
  }
  let valid = false;
  try {
    const signature = decodeBase64Strict(parts[2], "signature");
    valid = ed25519Verify(publicKey, readBytes(nodeId, path, timestampMs), signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new ControllerRequestError(
      401,
      `bad read signature: not by ${nodeId}'s configured identity`,
    );
  }
}
