/**
 * What a daemon trusts, read from its config dir: `authorized_keys/` (our own key left out, each
 * ignored file logged), the org files, and the admin's IPv4 pins; a warning when nothing at all
 * is trusted. An unreadable pin file keeps the pins we had (null), so a trust change still
 * applies.
 */

import { encodeHex } from "../encoding/base64.ts";
import type { Identity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import { listTrusted, type TrustedKey } from "../trust/trust_store.ts";
import { IPV4_PINS_FILE, readClaims } from "./ipv4_claims_store.ts";
import { type OrgFiles, readOrgFiles } from "./node_org.ts";

/** One read of the trust a daemon applies to its node. */
export interface DaemonTrust {
  entries: TrustedKey[];
  org: OrgFiles;
  /** The IPv4 pins, or null to keep the previous ones (the pin file could not be read). */
  pins: ReadonlyMap<string, string> | null;
}

/** Reads trust from `configDir` for `identity` (`open`: admitting all, nothing to warn of). */
export async function readDaemonTrust(
  configDir: string,
  identity: Identity,
  open: boolean,
  log: Logger,
): Promise<DaemonTrust> {
  const listing = await listTrusted(configDir, "peer");
  for (const problem of listing.problems) {
    log.warn(`trust store: ${problem.path}: ${problem.message}`);
  }
  const own = encodeHex(identity.publicKey);
  const entries = listing.entries.filter((entry) => encodeHex(entry.publicKey) !== own);
  const org = await readOrgFiles(configDir, identity, log);
  if (entries.length === 0 && org.orgKeys.length === 0 && !open) {
    log.warn(
      "no trusted keys or orgs: this node admits nobody (add peers with 'meshguard trust <key>')",
    );
  }
  const pins = await readClaims(configDir, IPV4_PINS_FILE).catch((error) => {
    log.error(`${(error as Error).message}; keeping the previous IPv4 pins`);
    return null;
  });
  for (const problem of pins?.problems ?? []) log.warn(problem);
  return { entries, org, pins: pins?.entries ?? null };
}

/** True when both are the same certificate bytes, or both none (`node.cert` unchanged). */
export function sameCertificate(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
