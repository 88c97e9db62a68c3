/**
 * Refuses trust paths another user could change (StrictModes, config/strict_modes.ts): the
 * config directory, the trust folders and every key file read from them.
 */

import { dirname } from "node:path";
import { ownershipProblem } from "../config/strict_modes.ts";
import { TrustError } from "../errors.ts";

/** A trust path that someone else could change: nothing is loaded from it. */
export class TrustPermissionError extends TrustError {
  /** The offending file or directory. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/**
 * Throws TrustPermissionError when `path` (followed if a symlink, and then also the directory
 * its target is in) may not hold trust. A missing path is fine: it holds nothing.
 */
export async function assertTrustPathSafe(path: string, ownUid: number | null): Promise<void> {
  let info: Deno.FileInfo;
  let link: Deno.FileInfo;
  try {
    link = await Deno.lstat(path);
    info = link.isSymlink ? await Deno.stat(path) : link;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const problem = ownershipProblem(path, info, ownUid);
  if (problem !== null) throw new TrustPermissionError(path, problem);
  if (link.isSymlink) {
    // Whoever can write the target's directory can swap the target.
    const target = await Deno.realPath(path);
    const folder = dirname(target);
    const folderProblem = ownershipProblem(folder, await Deno.stat(folder), ownUid);
    if (folderProblem !== null) {
      throw new TrustPermissionError(
        folder,
        `${folderProblem} (it holds ${target}, which ${path} links to)`,
      );
    }
  }
}
