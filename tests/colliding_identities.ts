/**
 * Two fresh identities whose public keys derive the same mesh IPv4, found by the birthday
 * bound (a few hundred keys in the /16, well under a second), for tests of the collision rule.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { join } from "node:path";
import { encodeHex } from "../lib/encoding/base64.ts";
import { encodeIdentityKeyFile, identityFromSeed } from "../lib/identity/identity.ts";
import { meshIpv4 } from "../lib/identity/mesh_address.ts";

/** A seed and its public key. */
export interface TestIdentity {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * Two identities at one mesh IPv4: `[larger, smaller]` by bytewise key order, so the second is
 * the one the old "smaller key wins" rule let take the first one's address.
 */
export function collidingIdentities(): [TestIdentity, TestIdentity] {
  const seen = new Map<string, TestIdentity>();
  for (;;) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const identity = { seed, publicKey: ed25519.getPublicKey(seed) };
    const address = meshIpv4(identity.publicKey);
    const other = seen.get(address);
    if (other === undefined) {
      seen.set(address, identity);
      continue;
    }
    return encodeHex(other.publicKey) > encodeHex(identity.publicKey)
      ? [other, identity]
      : [identity, other];
  }
}

/** Writes `identity` as `identity.key` (mode 0600) into an existing config dir. */
export async function writeIdentity(configDir: string, identity: TestIdentity): Promise<void> {
  const full = await identityFromSeed(identity.seed.slice());
  await Deno.writeTextFile(join(configDir, "identity.key"), encodeIdentityKeyFile(full), {
    mode: 0o600,
  });
}
