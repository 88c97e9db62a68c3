/** This node's public key as far as it can be read, for checks that must not need the secret. */

import { join } from "node:path";
import { IDENTITY_PUBLIC_FILE } from "../config/layout.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";
import { wipeIdentity } from "../identity/identity.ts";
import { loadIdentity } from "../identity/identity_store.ts";

/** Reads identity.pub, falling back to identity.key; null when neither gives a key. */
export async function readOwnPublicKey(configDir: string): Promise<Uint8Array | null> {
  try {
    return parseEd25519PublicKey(await Deno.readTextFile(join(configDir, IDENTITY_PUBLIC_FILE)));
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
  }
  const identity = await loadIdentity(configDir).catch(() => null);
  if (identity === null) return null;
  const publicKey = identity.publicKey.slice();
  wipeIdentity(identity);
  return publicKey;
}
