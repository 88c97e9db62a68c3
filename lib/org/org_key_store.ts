/**
 * The org admin's key: `org/org.key` (0600, base64 seed ‖ public key, as `identity.key`) and
 * `org/org.pub`. Loaded with the same checks as the identity (mode, owner, corruption).
 */

import { join } from "node:path";
import { ensureDirectory, statIfPresent } from "../config/config_dir.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { PUBLIC_FILE_MODE, SECRET_FILE_MODE } from "../config/layout.ts";
import { IdentityError } from "../errors.ts";
import {
  decodeIdentityKeyFile,
  encodeIdentityKeyFile,
  encodePublicKeyFile,
  type Identity,
} from "../identity/identity.ts";
import { ORG_DIR, ORG_KEY_FILE, ORG_PUBLIC_FILE } from "./org_layout.ts";

/** Path of the org's secret key. */
export function orgKeyPath(configDir: string): string {
  return join(configDir, ORG_DIR, ORG_KEY_FILE);
}

/** Loads the org key, or null when there is none; refuses a key others may read. */
export async function loadOrgKey(configDir: string): Promise<Identity | null> {
  const path = orgKeyPath(configDir);
  const info = await statIfPresent(path);
  if (info === null) return null;
  if (!info.isFile) throw new IdentityError(`${path} is not a regular file`);
  if (((info.mode ?? 0) & 0o077) !== 0) {
    throw new IdentityError(
      `${path} is accessible by group or others; the org key may be compromised. If it is not: chmod 600 ${path}`,
    );
  }
  if (info.size > 4096) throw new IdentityError(`${path} is corrupt: far too large for a key`);
  return await decodeIdentityKeyFile(await Deno.readTextFile(path), path);
}

/** Loads the org key or throws an error that says how to make one. */
export async function requireOrgKey(configDir: string): Promise<Identity> {
  const key = await loadOrgKey(configDir);
  if (key === null) {
    throw new IdentityError(
      `no org key in ${join(configDir, ORG_DIR)}; run 'meshguard org-keygen' first`,
    );
  }
  return key;
}

/** Writes `org.key` (0600) and `org.pub`, each atomically. */
export async function saveOrgKey(configDir: string, key: Identity): Promise<void> {
  await ensureDirectory(configDir);
  await ensureDirectory(join(configDir, ORG_DIR));
  await writeFileAtomic(orgKeyPath(configDir), encodeIdentityKeyFile(key), SECRET_FILE_MODE);
  await writeFileAtomic(
    join(configDir, ORG_DIR, ORG_PUBLIC_FILE),
    encodePublicKeyFile(key.publicKey),
    PUBLIC_FILE_MODE,
  );
}
