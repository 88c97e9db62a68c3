/**
 * The two files behind `Ipv4Claims`, in the config directory, one `<mesh IPv4> <base64 key>`
 * per line: `ipv4_holders` (who was first at each address; written by the daemon and by
 * `trust`) and `ipv4_pins` (an administrator's choices; written only by
 * `trust --ipv4-owner`). Two files so the daemon's saves never overwrite a pin it has not
 * read yet.
 */

import { join } from "node:path";
import { decodeBase64Strict, decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { MeshguardError } from "../errors.ts";

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

/** A claims file read from disk: address → hex key id, and lines that were ignored. */
export interface ClaimsFile {
  entries: Map<string, string>;
  problems: string[];
}

/** Thrown when a claims file cannot be read or written. */
export class ClaimsFileError extends MeshguardError {}

/** Parses a claims file's text; bad lines are skipped and described in `problems`. */
export function parseClaims(text: string, file: string): ClaimsFile {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${file} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2 || !MESH_IPV4.test(fields[0])) {
      problems.push(`${where}: expected '<10.99.x.y> <base64 public key>'; line ignored`);
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

/** The text of a claims file (header, then addresses in order). */
export function formatClaims(entries: ReadonlyMap<string, string>, file: string): string {
  const lines = [...entries]
    .sort((a, b) => compareAddresses(a[0], b[0]))
    .map(([address, id]) => `${address} ${encodeBase64(decodeHex(id))}\n`);
  return (HEADERS[file] ?? "") + lines.join("");
}

function compareAddresses(a: string, b: string): number {
  const [a2, a3] = a.split(".").slice(2).map(Number);
  const [b2, b3] = b.split(".").slice(2).map(Number);
  return a2 - b2 || a3 - b3;
}

/** Reads `file` from the config dir; a missing file is empty. */
export async function readClaims(configDir: string, file: string): Promise<ClaimsFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(configDir, file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { entries: new Map(), problems: [] };
    throw new ClaimsFileError(
      `cannot read ${join(configDir, file)}: ${(error as Error).message}`,
    );
  }
  return parseClaims(text, file);
}

/** Replaces `file` in the config dir atomically. */
export async function writeClaims(
  configDir: string,
  file: string,
  entries: ReadonlyMap<string, string>,
): Promise<void> {
  try {
    await writeFileAtomic(join(configDir, file), formatClaims(entries, file), PUBLIC_FILE_MODE);
  } catch (error) {
    throw new ClaimsFileError(
      `cannot write ${join(configDir, file)}: ${(error as Error).message}`,
    );
  }
}
