/**
 * Who this node is when the daemon starts: its identity from the config directory (created on
 * first start) and its own mesh name from the host name.
 */

import { join } from "node:path";
import { encodeBase64 } from "../encoding/base64.ts";
import { generateIdentity, type Identity } from "../identity/identity.ts";
import { loadIdentity, saveIdentity } from "../identity/identity_store.ts";
import type { Logger } from "../log/logger.ts";
import { ownNameFromHostname } from "./member_names.ts";

/** The identity in `configDir`, or a new one saved there (logged with its public key). */
export async function loadOrCreateIdentity(configDir: string, log: Logger): Promise<Identity> {
  const existing = await loadIdentity(configDir);
  if (existing) return existing;
  const identity = await generateIdentity();
  await saveIdentity(configDir, identity, { force: false });
  log.info(
    `no identity yet: created one in ${join(configDir, "identity.key")} (public key ${
      encodeBase64(identity.publicKey)
    }); give that key to the peers that should trust this node`,
  );
  return identity;
}

/** This node's own mesh name, from its host name (null when unreadable or not a DNS label). */
export function ownName(): string | null {
  try {
    return ownNameFromHostname(Deno.hostname());
  } catch {
    return null;
  }
}
