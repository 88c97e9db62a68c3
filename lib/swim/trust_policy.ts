/**
 * Who may take part in the membership. The engine asks before it spends any crypto on a
 * sender and before it lets a record or claim touch its tables (security invariant 4).
 */

import { keyId } from "./records.ts";

/**
 * Decides whether a key may take part: by its key (authorized_keys/, --open) or, when the
 * policy takes certificates, by the org certificate its signed record carries (lib/org/).
 */
export interface TrustPolicy {
  /** True when `key` (Ed25519, 32 bytes) is trusted; `id` is the same key as a binary string. */
  isTrusted(key: Uint8Array, id: string): boolean;
  /**
   * Checks a certificate `key` presents without spending a signature check (org trusted, not
   * expired, not revoked, names `key`): worth verifying. Absent: certificates admit nobody.
   */
  precheckCertificate?(key: Uint8Array, id: string, certificate: Uint8Array): boolean;
  /**
   * Verifies the certificate fully and, when it admits `key`, remembers that: `isTrusted(key)`
   * is true from then on (until it expires or is revoked). Only called once the record or
   * message that carries it authenticated.
   */
  admitCertificate?(key: Uint8Array, id: string, certificate: Uint8Array): boolean;
}

/** A trust policy from a fixed list of keys (what `authorized_keys/` gives). */
export function trustKeys(keys: Iterable<Uint8Array>): TrustPolicy {
  const ids = new Set<string>();
  for (const key of keys) ids.add(keyId(key));
  return { isTrusted: (_key, id) => ids.has(id) };
}
