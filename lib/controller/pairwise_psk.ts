/**
 * Pairwise preshared keys: PSK(epoch, a, b) = HKDF-SHA256(ikm = epoch secret,
 * salt = "meshguard-controller-psk-v1", info = epoch id (u64 big-endian) ‖ len(x) ‖ x ‖ len(y) ‖ y)
 * with x < y the two node ids (UTF-8, one length byte each) in sorted order, so both ends of a
 * link derive the same 32 bytes. The proof of concept's per-node key (HMAC-SHA256 of the node
 * id) is kept only for its old agent: it cannot work in a full mesh.
 */

import { createHash, createHmac, hkdfSync } from "node:crypto";
import { encodeHex } from "../encoding/base64.ts";

/** Bytes of an epoch secret and of every derived key. */
export const EPOCH_SECRET_LENGTH = 32;

const PSK_SALT = new TextEncoder().encode("meshguard-controller-psk-v1");

/** HKDF-SHA256 (RFC 5869): `length` bytes from ikm, salt and info. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

/** The HKDF info of a pair (ids sorted, so the order of the arguments does not matter). */
export function pairInfo(epochId: number, a: string, b: string): Uint8Array {
  const encoder = new TextEncoder();
  const [first, second] = (a < b ? [a, b] : [b, a]).map((id) => encoder.encode(id));
  const info = new Uint8Array(8 + 2 + first.length + second.length);
  new DataView(info.buffer).setBigUint64(0, BigInt(epochId));
  info[8] = first.length;
  info.set(first, 9);
  info[9 + first.length] = second.length;
  info.set(second, 10 + first.length);
  return info;
}

/** The pairwise PSK of nodes `a` and `b` in an epoch. */
export function pairwisePsk(secret: Uint8Array, epochId: number, a: string, b: string): Uint8Array {
  if (a === b) throw new RangeError("a pairwise key needs two different nodes");
  return hkdfSha256(secret, PSK_SALT, pairInfo(epochId, a, b), EPOCH_SECRET_LENGTH);
}

/** The proof of concept's per-node PSK: HMAC-SHA256(key = secret, message = node id). */
export function legacyNodePsk(secret: Uint8Array, nodeId: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", secret).update(nodeId, "utf8").digest());
}

/** `sha256:` and the first 16 hex characters of SHA-256(secret), as the PoC shows it. */
export function secretHash(secret: Uint8Array): string {
  return `sha256:${
    encodeHex(new Uint8Array(createHash("sha256").update(secret).digest())).slice(0, 16)
  }`;
}
