/** Deterministic real SWIM identities for the fuzz targets (the seed comes from the run). */

import { ed25519 } from "@noble/curves/ed25519.js";
import { createSwimCrypto, type SwimCrypto } from "../../lib/swim/swim_crypto.ts";
import type { Rng } from "./fuzz_kit.ts";

/** A SWIM identity with the real crypto (native Ed25519, X25519, ChaCha20-Poly1305). */
export function swimIdentity(rng: Rng): SwimCrypto {
  const seed = rng.bytes(32);
  return createSwimCrypto(seed, ed25519.getPublicKey(seed));
}
