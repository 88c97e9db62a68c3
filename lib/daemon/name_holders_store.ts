/**
 * `name_holders` in the config directory: which key holds each contested-able mesh name on this
 * node, one `<name> <base64 key>` per line, written by the daemon so a restart settles names as
 * before it (see `member_names.ts`). Bad lines are skipped with a reason, never fatal.
 */

import { isDnsLabel } from "../trust/dns_label.ts";
import {
  formatHolderFile,
  parseHolderFile,
  readHolderText,
  writeHolderText,
} from "./key_holder_file.ts";
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
  return parseHolderFile(text, NAME_HOLDERS_FILE, {
    valid: isMeshName,
    expected: "'<name>.mesh <base64 public key>'",
  });
}

/** The file's text (header, then names in order). */
export function formatNameHolders(entries: ReadonlyMap<string, string>): string {
  return formatHolderFile(entries, HEADER, (a, b) => (a < b ? -1 : 1));
}

/** Reads the file from the config dir; a missing file is empty. */
export async function readNameHolders(
  configDir: string,
): Promise<{ entries: Map<string, string>; problems: string[] }> {
  const text = await readHolderText(configDir, NAME_HOLDERS_FILE);
  return text === null ? { entries: new Map(), problems: [] } : parseNameHolders(text);
}

/** Replaces the file in the config dir atomically. */
export async function writeNameHolders(
  configDir: string,
  entries: ReadonlyMap<string, string>,
): Promise<void> {
  await writeHolderText(configDir, NAME_HOLDERS_FILE, formatNameHolders(entries));
}
