/** Crash-safe file replacement: a reader sees the old file or the new one, never a torn mix. */

import { basename, dirname, join } from "node:path";
import { encodeHex } from "../encoding/base64.ts";

/**
 * Writes `data` to `path` with exactly `mode`: write a temporary file in the same folder,
 * fsync it, rename it over the target, then fsync the folder so the rename is durable.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  mode: number,
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const folder = dirname(path);
  const suffix = encodeHex(crypto.getRandomValues(new Uint8Array(6)));
  const temporary = join(folder, `.${basename(path)}.tmp-${suffix}`);
  const file = await Deno.open(temporary, { write: true, createNew: true, mode });
  try {
    try {
      // The umask may have narrowed `mode` at creation; set it exactly before any data lands.
      await Deno.chmod(temporary, mode);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  await syncDirectory(folder);
}

/** Flushes a directory entry change (rename, unlink) to disk, where the platform allows. */
export async function syncDirectory(folder: string): Promise<void> {
  let directory: Deno.FsFile | undefined;
  try {
    directory = await Deno.open(folder, { read: true });
    await directory.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    directory?.close();
  }
}

/** True for the name of a temporary file left by an interrupted `writeFileAtomic`. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith(".") && name.includes(".tmp-");
}
