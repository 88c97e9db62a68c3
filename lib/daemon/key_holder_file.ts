/**
 * The line format the holder files share (`ipv4_holders`, `ipv4_pins`, `name_holders`): one
 * `<thing held> <base64 public key>` per line, `#` comments. Bad lines are skipped with a
 * reason, never fatal; a missing file is empty; writes replace the file atomically.
 */

import { join } from "node:path";
import { decodeBase64Strict, decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { MeshguardError } from "../errors.ts";

/** A holder file read from disk: thing held → hex key id, and lines that were ignored. */
export interface ClaimsFile {
  entries: Map<string, string>;
  problems: string[];
}

/** Thrown when a holder file cannot be read or written. */
export class ClaimsFileError extends MeshguardError {}

/** What a file holds: which first fields are valid, and how a bad line is described. */
export interface HeldThing {
  /** True for a valid first field. */
  valid: (field: string) => boolean;
  /** The expected line, for the problem text (e.g. `'<10.99.x.y> <base64 public key>'`). */
  expected: string;
}

/** Parses a holder file's text; bad lines are skipped and described in `problems`. */
export function parseHolderFile(text: string, file: string, held: HeldThing): ClaimsFile {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${file} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2 || !held.valid(fields[0])) {
      problems.push(`${where}: expected ${held.expected}; line ignored`);
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

/** A holder file's text: `header`, then the entries sorted by `compare` on what is held. */
export function formatHolderFile(
  entries: ReadonlyMap<string, string>,
  header: string,
  compare: (a: string, b: string) => number,
): string {
  const lines = [...entries].sort((a, b) => compare(a[0], b[0]))
    .map(([held, id]) => `${held} ${encodeBase64(decodeHex(id))}\n`);
  return header + lines.join("");
}

/** Reads `file` from the config dir (null when missing); throws ClaimsFileError. */
export async function readHolderText(configDir: string, file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(join(configDir, file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new ClaimsFileError(`cannot read ${join(configDir, file)}: ${(error as Error).message}`);
  }
}

/** Replaces `file` in the config dir atomically with `text`; throws ClaimsFileError. */
export async function writeHolderText(
  configDir: string,
  file: string,
  text: string,
): Promise<void> {
  const path = join(configDir, file);
  try {
    await writeFileAtomic(path, text, PUBLIC_FILE_MODE);
  } catch (error) {
    throw new ClaimsFileError(`cannot write ${path}: ${(error as Error).message}`);
  }
}
