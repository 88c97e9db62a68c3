/**
 * The two files behind `Ipv4Claims`, in the config directory, one `<mesh IPv4> <base64 key>`
 * per line: `ipv4_holders` (who was first at each address; written by the daemon and by
 * `trust`) and `ipv4_pins` (an administrator's choices; written only by
 * `trust --ipv4-owner`). Two files so the daemon's saves never overwrite a pin it has not
 * read yet.
 */

import {
  type ClaimsFile,
  ClaimsFileError,
  formatHolderFile,
  parseHolderFile,
  readHolderText,
  writeHolderText,
} from "./key_holder_file.ts";

export { type ClaimsFile, ClaimsFileError };

/** The daemon's record of which key holds each mesh IPv4 (first trusted or seen). */
export const IPV4_HOLDERS_FILE = "ipv4_holders";
/** The administrator's choices of holder, which override the record. */
export const IPV4_PINS_FILE = "ipv4_pins";

const HEADERS: Record<string, string> = {
  [IPV4_HOLDERS_FILE]:
    "# meshguard: the key that holds each mesh IPv4 on this node (the first one trusted or\n" +
    "# seen). Written by the daemon; to give an address to another key run\n" +
    "# 'meshguard trust <key> --ipv4-owner' instead of editing this file.\n",
  [IPV4_PINS_FILE]: "# meshguard: mesh IPv4 addresses given to a key by 'meshguard trust <key> " +
    "--ipv4-owner'.\n# They override ipv4_holders. Delete a line to undo it.\n",
};

const MESH_IPV4 =
  /^10\.99\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Parses a claims file's text; bad lines are skipped and described in `problems`. */
export function parseClaims(text: string, file: string): ClaimsFile {
  return parseHolderFile(text, file, {
    valid: (field) => MESH_IPV4.test(field),
    expected: "'<10.99.x.y> <base64 public key>'",
  });
}

/** The text of a claims file (header, then addresses in order). */
export function formatClaims(entries: ReadonlyMap<string, string>, file: string): string {
  return formatHolderFile(entries, HEADERS[file] ?? "", compareAddresses);
}

function compareAddresses(a: string, b: string): number {
  const [a2, a3] = a.split(".").slice(2).map(Number);
  const [b2, b3] = b.split(".").slice(2).map(Number);
  return a2 - b2 || a3 - b3;
}

/** Reads `file` from the config dir; a missing file is empty. */
export async function readClaims(configDir: string, file: string): Promise<ClaimsFile> {
  const text = await readHolderText(configDir, file);
  return text === null ? { entries: new Map(), problems: [] } : parseClaims(text, file);
}

/** Replaces `file` in the config dir atomically. */
export async function writeClaims(
  configDir: string,
  file: string,
  entries: ReadonlyMap<string, string>,
): Promise<void> {
  await writeHolderText(configDir, file, formatClaims(entries, file));
}
