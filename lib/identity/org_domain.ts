/** The mesh domain of an org, as the original meshguard derives it. */

import { blake3 } from "@noble/hashes/blake3.js";
import { encodeHex } from "../encoding/base64.ts";

/** Lowercase hex of BLAKE3(org public key)[0..3]: six characters, e.g. `a1b2c3`. */
export function orgDomain(orgPublicKey: Uint8Array): string {
  return encodeHex(blake3(orgPublicKey).subarray(0, 3));
}
