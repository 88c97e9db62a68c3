/**
 * Where meshguard keeps its files: `--config DIR`, else `MESHGUARD_CONFIG_DIR`, else
 * `/etc/meshguard` for root, else `$XDG_CONFIG_HOME/meshguard`, else `~/.config/meshguard`.
 */

import { isAbsolute, join, normalize, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { CONFIG_DIR_MODE } from "./layout.ts";

/** Everything the resolution looks at, passed in so it is testable without a real process. */
export interface ConfigDirSources {
  /** The value of `--config`, if given. */
  flag?: string;
  /** Reads an environment variable. */
  env: (name: string) => string | undefined;
  /** Effective uid, or null where unknown. */
  uid: number | null;
  /** Current directory, to make relative paths absolute. */
  cwd: string;
}

/** Resolves the config directory to an absolute path (without touching the filesystem). */
export function resolveConfigDir(sources: ConfigDirSources): string {
  const nonEmpty = (value: string | undefined) =>
    value !== undefined && value.length > 0 ? value : undefined;
  const explicit = nonEmpty(sources.flag) ?? nonEmpty(sources.env("MESHGUARD_CONFIG_DIR"));
  if (explicit !== undefined) {
    const absolute = isAbsolute(explicit) ? normalize(explicit) : resolve(sources.cwd, explicit);
    return absolute.length > 1 ? absolute.replace(/\/+$/, "") : absolute;
  }
  if (sources.uid === 0) return "/etc/meshguard";
  const xdg = nonEmpty(sources.env("XDG_CONFIG_HOME"));
  // XDG base-dir spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "meshguard");
  const home = nonEmpty(sources.env("HOME"));
  if (home === undefined) {
    throw new ConfigError(
      "cannot find a config directory: HOME is not set; pass --config DIR or set MESHGUARD_CONFIG_DIR",
    );
  }
  return join(home, ".config", "meshguard");
}

/** Creates `dir` (and parents) with mode 0700 if missing; fails clearly if it is not a folder. */
export async function ensureDirectory(dir: string): Promise<void> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new ConfigError(`${dir} exists but is not a directory`);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true, mode: CONFIG_DIR_MODE });
  // mkdir's mode is filtered by the umask; the config dir must be exactly 0700.
  await Deno.chmod(dir, CONFIG_DIR_MODE);
}

/** The file's info, or null when nothing is at `path` (other errors are thrown). */
export async function statIfPresent(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
