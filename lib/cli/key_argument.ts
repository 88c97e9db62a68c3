/** Turns the `<key|file>` argument of `trust` into a validated public key. */

import { basename } from "node:path";
import { InvalidKeyError } from "../errors.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";

/** A key given on the command line, and the file stem it came from, if any. */
export interface KeyArgument {
  publicKey: Uint8Array;
  /** Stem of the file the key was read from (`alice` for `keys/alice.pub`), else null. */
  fileStem: string | null;
}

/** Largest file we accept as a key file. */
const MAX_KEY_FILE_BYTES = 4096;

/**
 * An existing regular file is read as a key file; anything else is taken as a base64 key.
 * (A base64 key can contain '/', so path-looking text is only a path when the file exists.)
 */
export async function resolveKeyArgument(argument: string): Promise<KeyArgument> {
  let info: Deno.FileInfo | null = null;
  try {
    info = await Deno.stat(argument);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    info = null;
  }
  if (info !== null) {
    if (!info.isFile) throw new InvalidKeyError(`${argument} is not a regular file`);
    if (info.size > MAX_KEY_FILE_BYTES) {
      throw new InvalidKeyError(`${argument} is too large to be a public key file`);
    }
    const text = await Deno.readTextFile(argument);
    const line = text.split("\n").find((candidate) => candidate.trim().length > 0) ?? "";
    const publicKey = parseEd25519PublicKey(line, `the key in ${argument}`);
    const name = basename(argument);
    const dot = name.lastIndexOf(".");
    return { publicKey, fileStem: dot > 0 ? name.slice(0, dot) : name };
  }
  const looksLikePath = argument.endsWith(".pub") || argument.endsWith(".org") ||
    argument.startsWith("./") || argument.startsWith("../") || argument.startsWith("~");
  if (looksLikePath) throw new InvalidKeyError(`no such file: ${argument}`);
  return { publicKey: parseEd25519PublicKey(argument, "public key"), fileStem: null };
}
