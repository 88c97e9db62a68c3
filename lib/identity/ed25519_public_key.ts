/**
 * Validation of Ed25519 public keys before we trust them: exactly 32 bytes, a canonical
 * encoding (RFC 8032 §5.1.3), a point on the curve, and in the prime-order subgroup (so
 * neither small order nor carrying a torsion component that would make the Ed25519→X25519
 * map and signature checks ambiguous).
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import { InvalidKeyError } from "../errors.ts";

/** Length in bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;

/** The field prime 2^255 - 19. */
const FIELD_PRIME = (1n << 255n) - 19n;

/** Why a 32-byte string is not an acceptable Ed25519 public key. */
export type Ed25519KeyProblem =
  | "wrong-length"
  | "non-canonical"
  | "not-on-curve"
  | "small-order"
  | "mixed-order";

const PROBLEM_TEXT: Record<Ed25519KeyProblem, string> = {
  "wrong-length": "is not 32 bytes long",
  "non-canonical": "is a non-canonical encoding (y ≥ 2^255-19, or x = 0 with the sign bit set)",
  "not-on-curve": "is not a point on the Ed25519 curve",
  "small-order": "is a small-order point (it would let anyone impersonate this key)",
  "mixed-order": "has a torsion component (not in the prime-order subgroup)",
};

/** Returns what is wrong with `bytes` as an Ed25519 public key, or null when it is acceptable. */
export function ed25519KeyProblem(bytes: Uint8Array): Ed25519KeyProblem | null {
  if (bytes.length !== ED25519_PUBLIC_KEY_LENGTH) return "wrong-length";
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  if (y >= FIELD_PRIME) return "non-canonical";
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes, false);
  } catch (error) {
    // noble reports the x = 0 / sign-bit case separately from "no square root".
    return /x=0/.test(String(error)) ? "non-canonical" : "not-on-curve";
  }
  if (point.isSmallOrder()) return "small-order";
  if (!point.isTorsionFree()) return "mixed-order";
  return null;
}

/** Throws InvalidKeyError unless `bytes` is an acceptable Ed25519 public key. */
export function assertValidEd25519PublicKey(bytes: Uint8Array, what = "public key"): void {
  const problem = ed25519KeyProblem(bytes);
  if (problem !== null) throw new InvalidKeyError(`${what} ${PROBLEM_TEXT[problem]}`);
}

/**
 * Parses a base64 public key as users paste it (surrounding whitespace ignored) and
 * validates it; the error says which check failed.
 */
export function parseEd25519PublicKey(text: string, what = "public key"): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new InvalidKeyError(`${what} is empty`);
  const bytes = decodeBase64Strict(trimmed, what);
  if (bytes.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new InvalidKeyError(
      `${what} decodes to ${bytes.length} bytes; an Ed25519 public key is 32 bytes (44 base64 characters)`,
    );
  }
  assertValidEd25519PublicKey(bytes, what);
  return bytes;
}

/** Formats a public key the way meshguard's files and CLI show it (padded base64). */
export function formatPublicKey(bytes: Uint8Array): string {
  return encodeBase64(bytes);
}
