/**
 * `name_holders` in the config directory: which key holds each contested-able mesh name on this
 * node, one `<name> <base64 key>` per line, written by the daemon so a restart settles names as
 * before it (see `member_names.ts`). Bad lines are skipped with a reason, never fatal.
 */

import { join } from "node:path";
import { decodeBase64Strict, decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { isDnsLabel } from "../trust/dns_label.ts";
import { ClaimsFileError } from "./ipv4_claims_store.ts";
import { MESH_ZONE } from "./member_names.ts";

/** The daemon's record of which key holds each mesh name. */
export const NAME_HOLDERS_FILE = "name_holders";

const HEADER = "# meshguard: the key that holds each mesh name on this node (the first one to\n" +
  "# claim it). Written by the daemon; rename or revoke a trust file instead of editing this.\n";

/** True for a mesh name: DNS labels ending in `.mesh`, at most 253 characters. */
export function isMeshName(name: string): boolean {
  const labels = name.split(".");
  return name.length <= 253 && labels.length >= 2 && labels.at(-1) === MESH_ZONE &&
    labels.every(isDnsLabel);
}

/** Parses the file's text: name → hex key id, and the lines that were ignored. */
export function parseNameHolders(
  text: string,
): { entries: Map<string, string>; problems: string[] } {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${NAME_HOLDERS_FILE} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2 || !isMeshName(fields[0])) {
      problems.push(`${where}: expected '<name>.mesh <base64 public key>'; line ignored`);
      return;
    }
    let key: Uint8Array;
    try {
      key = decodeBase64Strict(fields[1], "public key");
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}; line ignored`);
      return;
    }
    if (key.length !== 32) {
      problems.push(`${where}: a public key is 32 bytes, got ${key.length}; line ignored`);
      return;
    }
    if (entries.has(fields[0])) {
      problems.push(`${where}: ${fields[0]} is listed twice; the first line counts`);
      return;
    }
    entries.set(fields[0], encodeHex(key));
  });
  return { entries, problems };
}

/** The file's text (header, then names in order). */
export function formatNameHolders(entries: ReadonlyMap<string, string>): string {
  const lines = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([name, id]) => `${name} ${encodeBase64(decodeHex(id))}\n`);
  return HEADER + lines.join("");
}

/** Reads the file from the config dir; a missing file is empty. */
export async function readNameHolders(
  configDir: string,
): Promise<{ entries: Map<string, string>; problems: string[] }> {
  try {
    return parseNameHolders(await Deno.readTextFile(join(configDir, NAME_HOLDERS_FILE)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { entries: new Map(), problems: [] };
    throw new ClaimsFileError(
      `cannot read ${join(configDir, NAME_HOLDERS_FILE)}: ${(error as Error).message}`,
    );
  }
}

/** Replaces the file in the config dir atomically. */
export async function writeNameHolders(
  configDir: string,
  entries: ReadonlyMap<string, string>,
): Promise<void> {
  const path = join(configDir, NAME_HOLDERS_FILE);
  try {
    await writeFileAtomic(path, formatNameHolders(entries), PUBLIC_FILE_MODE);
  } catch (error) {
    throw new ClaimsFileError(`cannot write ${path}: ${(error as Error).message}`);
  }
}
