/** Shared setup for the WireGuard engine tests: one wasm core and its Noise primitives. */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import {
  createNoisePrimitives,
  type NoisePrimitives,
} from "../../lib/wireguard/noise_primitives.ts";
import type { LocalStatic } from "../../lib/wireguard/handshake.ts";

/** Noise primitives over a fresh single-instance core. */
export const primitives: NoisePrimitives = createNoisePrimitives(await CryptoCore.create());

/** A fresh static key pair. */
export function newStatic(): LocalStatic {
  const privateKey = primitives.generatePrivateKey();
  return { privateKey, publicKey: primitives.publicKey(privateKey) };
}
