/**
 * Who may take part in the membership. The engine asks before it spends any crypto on a
 * sender and before it lets a record or claim touch its tables (security invariant 4).
 */

import { keyId } from "./records.ts";

/** Decides whether a key may take part; org certificates will plug in here later. */
export interface TrustPolicy {
  /** True when `key` (Ed25519, 32 bytes) is trusted; `id` is the same key as a binary string. */
  isTrusted(key: Uint8Array, id: string): boolean;
}

/** A trust policy from a fixed list of keys (what `authorized_keys/` gives). */
export function trustKeys(keys: Iterable<Uint8Array>): TrustPolicy {
  const ids = new Set<string>();
  for (const key of keys) ids.add(keyId(key));
  return { isTrusted: (_key, id) => ids.has(id) };
}
