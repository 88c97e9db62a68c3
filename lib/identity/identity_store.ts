/** Loading and saving the node identity in the config directory. */

import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { currentUid, ownershipProblem } from "../config/strict_modes.ts";
import {
  IDENTITY_KEY_FILE,
  IDENTITY_PUBLIC_FILE,
  PUBLIC_FILE_MODE,
  SECRET_FILE_MODE,
} from "../config/layout.ts";
import { IdentityError } from "../errors.ts";
import {
  decodeIdentityKeyFile,
  encodeIdentityKeyFile,
  encodePublicKeyFile,
  type Identity,
} from "./identity.ts";

/** Largest `identity.key` we read: the key is 89 bytes; anything much bigger is not a key. */
const MAX_IDENTITY_FILE_BYTES = 4096;

/** Path of the identity key inside a config directory. */
export function identityKeyPath(configDir: string): string {
  return join(configDir, IDENTITY_KEY_FILE);
}

/**
 * Loads the identity, or returns null when there is none. Refuses a key file that group or
 * others may read (the key would already be exposed to them), one that is corrupt, and one
 * that another user could swap: owned by someone other than root or us, or in a config
 * directory that is (StrictModes).
 */
export async function loadIdentity(configDir: string): Promise<Identity | null> {
  const path = identityKeyPath(configDir);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new IdentityError(`cannot read ${path}: permission denied (run as its owner or root)`);
    }
    throw error;
  }
  let text: string;
  try {
    // Check the mode on the open file, so a swap between the check and the read is harmless.
    const info = await file.stat();
    if (!info.isFile) throw new IdentityError(`${path} is not a regular file`);
    const mode = info.mode ?? 0;
    if ((mode & 0o077) !== 0) {
      throw new IdentityError(
        `${path} is accessible by group or others (mode ${
          (mode & 0o777).toString(8).padStart(4, "0")
        }); the key may be compromised. If it is not, fix it with: chmod 600 ${path}`,
      );
    }
    const ownUid = currentUid();
    const swappable = ownershipProblem(path, info, ownUid) ??
      ownershipProblem(configDir, await Deno.stat(configDir), ownUid);
    if (swappable !== null) throw new IdentityError(swappable);
    if (info.size > MAX_IDENTITY_FILE_BYTES) {
      throw new IdentityError(`${path} is corrupt: ${info.size} bytes is far too large for a key`);
    }
    const buffer = new Uint8Array(info.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = await file.read(buffer.subarray(length));
      if (read === null) break;
      length += read;
    }
    text = new TextDecoder().decode(buffer.subarray(0, length));
    buffer.fill(0);
  } finally {
    file.close();
  }
  return await decodeIdentityKeyFile(text, path);
}

/** Thrown by `saveIdentity` when an identity exists and overwriting was not asked for. */
export class IdentityExistsError extends IdentityError {
  /** Public key of the identity already on disk, when it could be read. */
  readonly existingPublicKey: Uint8Array | null;
  constructor(path: string, existingPublicKey: Uint8Array | null) {
    super(
      `an identity already exists in ${path}; use --force to replace it (peers that trust the old key will no longer admit this node)`,
    );
    this.existingPublicKey = existingPublicKey;
  }
}

/**
 * Writes `identity.key` (0600) then `identity.pub` (0644), each atomically. Without `force`
 * an existing key file, even a corrupt one, is never replaced.
 */
export async function saveIdentity(
  configDir: string,
  identity: Identity,
  options: { force: boolean },
): Promise<void> {
  await ensureDirectory(configDir);
  const keyPath = identityKeyPath(configDir);
  if (!options.force) {
    let exists = true;
    try {
      await Deno.lstat(keyPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      exists = false;
    }
    if (exists) {
      const existing = await loadIdentity(configDir).catch(() => null);
      throw new IdentityExistsError(keyPath, existing?.publicKey ?? null);
    }
  }
  await writeFileAtomic(keyPath, encodeIdentityKeyFile(identity), SECRET_FILE_MODE);
  await writeFileAtomic(
    join(configDir, IDENTITY_PUBLIC_FILE),
    encodePublicKeyFile(identity.publicKey),
    PUBLIC_FILE_MODE,
  );
}
