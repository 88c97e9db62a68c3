/**
 * The local trust store: `authorized_keys/<name>.pub` (individually trusted peers) and
 * `trusted_orgs/<name>.org` (trusted org keys), one padded-base64 Ed25519 key per file, as
 * the original meshguard lays them out. Every change is atomic; nothing is lost on refusal.
 * Nothing is loaded from a directory or file that another user could change
 * (trust_permissions.ts).
 */

import { join } from "node:path";
import { isTemporaryName, syncDirectory, writeFileAtomic } from "../config/atomic_write.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { AUTHORIZED_KEYS_DIR, PUBLIC_FILE_MODE, TRUSTED_ORGS_DIR } from "../config/layout.ts";
import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { InvalidNameError, MeshguardError, TrustError } from "../errors.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";
import { assertDnsLabel, isDnsLabel } from "./dns_label.ts";
import { currentUid } from "../config/strict_modes.ts";
import { assertTrustPathSafe } from "./trust_permissions.ts";

/** Which half of the trust store: individually trusted peers, or trusted orgs. */
export type TrustKind = "peer" | "org";

interface KindLayout {
  folder: string;
  extension: string;
  noun: string;
}

const LAYOUT: Record<TrustKind, KindLayout> = {
  peer: { folder: AUTHORIZED_KEYS_DIR, extension: ".pub", noun: "peer" },
  org: { folder: TRUSTED_ORGS_DIR, extension: ".org", noun: "org" },
};

/** A trust file holds one key line; anything larger is not one of ours. */
const MAX_TRUST_FILE_BYTES = 4096;

/** One trusted key as found on disk. */
export interface TrustedKey {
  kind: TrustKind;
  /** The file stem, a DNS label. */
  name: string;
  publicKey: Uint8Array;
  path: string;
}

/** A file in the trust store that is ignored, and why. */
export interface TrustStoreProblem {
  path: string;
  message: string;
}

/** The valid entries of one half of the store, sorted by name, plus the ignored files. */
export interface TrustListing {
  entries: TrustedKey[];
  problems: TrustStoreProblem[];
}

/** Folder holding one kind of trusted key. */
export function trustFolder(configDir: string, kind: TrustKind): string {
  return join(configDir, LAYOUT[kind].folder);
}

/** Path of the file that holds the key trusted under `name`. */
export function trustFilePath(configDir: string, kind: TrustKind, name: string): string {
  return join(trustFolder(configDir, kind), name + LAYOUT[kind].extension);
}

async function readTrustFile(path: string): Promise<Uint8Array> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new MeshguardError("not a regular file");
  if (info.size > MAX_TRUST_FILE_BYTES) throw new MeshguardError("too large to be a key file");
  const text = await Deno.readTextFile(path);
  const firstLine = text.split("\n").find((line) => line.trim().length > 0) ?? "";
  return parseEd25519PublicKey(firstLine, "key");
}

/** How `listTrusted` reads. */
export interface ListOptions {
  /**
   * Check that no other user can change what is read (default true). Only removal turns it
   * off: taking trust away is safe whoever could have written the files.
   */
  checkPermissions?: boolean;
}

/**
 * Reads one half of the store. Files that are not valid keys are reported, never fatal; a
 * config directory, folder or key file another user could change throws TrustPermissionError.
 */
export async function listTrusted(
  configDir: string,
  kind: TrustKind,
  options: ListOptions = {},
): Promise<TrustListing> {
  const { extension } = LAYOUT[kind];
  const folder = trustFolder(configDir, kind);
  const checked = options.checkPermissions ?? true;
  const ownUid = checked ? currentUid() : null;
  if (checked) {
    await assertTrustPathSafe(configDir, ownUid);
    await assertTrustPathSafe(folder, ownUid);
  }
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.endsWith(extension) && !isTemporaryName(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { entries: [], problems: [] };
    throw error;
  }
  names.sort();
  const entries: TrustedKey[] = [];
  const problems: TrustStoreProblem[] = [];
  for (const fileName of names) {
    const path = join(folder, fileName);
    const name = fileName.slice(0, -extension.length);
    if (!isDnsLabel(name)) {
      problems.push({ path, message: "ignored: the name is not a DNS label ([a-z0-9-], 1-63)" });
      continue;
    }
    if (checked) await assertTrustPathSafe(path, ownUid);
    let publicKey: Uint8Array;
    try {
      publicKey = await readTrustFile(path);
    } catch (error) {
      const reason = error instanceof MeshguardError ? error.message : String(error);
      problems.push({ path, message: `ignored: ${reason}` });
      continue;
    }
    const twin = entries.find((entry) => constantTimeEqual(entry.publicKey, publicKey));
    if (twin) {
      problems.push({ path, message: `duplicate of '${twin.name}' (same key)` });
      continue;
    }
    entries.push({ kind, name, publicKey, path });
  }
  return { entries, problems };
}

/** What `addTrusted` did. */
export type TrustOutcome =
  | { action: "added"; name: string }
  | { action: "already-trusted"; name: string }
  | { action: "renamed"; from: string; to: string }
  | { action: "replaced"; name: string; previousKey: Uint8Array | null };

/** A request to trust one key. */
export interface TrustRequest {
  kind: TrustKind;
  publicKey: Uint8Array;
  name: string;
  /** False when the name was made up by us: then an already-trusted key is never renamed. */
  nameIsExplicit: boolean;
  /**
   * Asked before a name that already holds a different key (or an unreadable file) is
   * overwritten; resolve false to refuse. It may throw to explain why it cannot ask.
   */
  confirmReplace: (question: string) => Promise<boolean>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Trusts a key under a name. Same key and name: nothing to do. Same key, other name: the
 * file is renamed. Name taken by another key: replaced only after `confirmReplace`.
 */
export async function addTrusted(configDir: string, request: TrustRequest): Promise<TrustOutcome> {
  const { kind, publicKey, name } = request;
  const { noun } = LAYOUT[kind];
  assertDnsLabel(name, `${noun} name`);
  await ensureDirectory(configDir);
  const folder = trustFolder(configDir, kind);
  await ensureDirectory(folder);
  const listing = await listTrusted(configDir, kind);
  const sameKey = listing.entries.find((entry) => constantTimeEqual(entry.publicKey, publicKey));
  if (sameKey && (sameKey.name === name || !request.nameIsExplicit)) {
    return { action: "already-trusted", name: sameKey.name };
  }
  const target = trustFilePath(configDir, kind, name);
  let previousKey: Uint8Array | null = null;
  const targetTaken = await exists(target);
  if (targetTaken) {
    const holder = listing.entries.find((entry) => entry.name === name);
    previousKey = holder?.publicKey ?? null;
    const what = holder
      ? `a different key (${encodeBase64(holder.publicKey)})`
      : "a file that is not a valid key";
    const question = `${noun} name '${name}' already holds ${what}. Replace it?`;
    if (!await request.confirmReplace(question)) {
      throw new TrustError(`not replacing ${noun} '${name}'; nothing changed`);
    }
  }
  if (sameKey) {
    // rename(2) replaces the target atomically, so there is no moment without the key.
    await Deno.rename(sameKey.path, target);
    await syncDirectory(folder);
    return { action: "renamed", from: sameKey.name, to: name };
  }
  await writeFileAtomic(target, encodeBase64(publicKey) + "\n", PUBLIC_FILE_MODE);
  return targetTaken ? { action: "replaced", name, previousKey } : { action: "added", name };
}

/**
 * Stops trusting a name (`alice`) or a key (base64). Removes every file holding that key;
 * returns what was removed. Nothing matching is an error that says so.
 */
export async function removeTrusted(
  configDir: string,
  kind: TrustKind,
  nameOrKey: string,
): Promise<TrustedKey[]> {
  const { noun } = LAYOUT[kind];
  if (isDnsLabel(nameOrKey)) {
    const path = trustFilePath(configDir, kind, nameOrKey);
    const listing = await listTrusted(configDir, kind, { checkPermissions: false });
    const entry = listing.entries.find((candidate) => candidate.name === nameOrKey);
    if (!await exists(path)) {
      const known = listing.entries.map((candidate) => candidate.name);
      const hint = known.length > 0 ? ` (trusted ${noun}s: ${known.join(", ")})` : "";
      throw new TrustError(`no trusted ${noun} named '${nameOrKey}'${hint}`);
    }
    await Deno.remove(path);
    await syncDirectory(trustFolder(configDir, kind));
    return [entry ?? { kind, name: nameOrKey, publicKey: new Uint8Array(32), path }];
  }
  let key: Uint8Array;
  try {
    key = decodeBase64Strict(nameOrKey.trim());
  } catch {
    throw new InvalidNameError(
      `'${nameOrKey}' is neither a ${noun} name (a DNS label) nor a base64 public key`,
    );
  }
  if (key.length !== 32) {
    throw new InvalidNameError(`'${nameOrKey}' decodes to ${key.length} bytes, not a 32-byte key`);
  }
  const removed: TrustedKey[] = [];
  // A listing shows one file per key; hand-made duplicates surface once the first is gone.
  for (;;) {
    const listing = await listTrusted(configDir, kind, { checkPermissions: false });
    const match = listing.entries.find((entry) => constantTimeEqual(entry.publicKey, key));
    if (!match) break;
    await Deno.remove(match.path);
    removed.push(match);
  }
  if (removed.length === 0) throw new TrustError(`no trusted ${noun} has key ${nameOrKey}`);
  await syncDirectory(trustFolder(configDir, kind));
  return removed;
}
