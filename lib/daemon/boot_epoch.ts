/**
 * The membership boot epoch: it must grow on every restart (peers order a member's records by
 * (epoch, incarnation), and a restarted node whose epoch went backwards would lose to its own
 * older records until the clock caught up). The wall clock alone is not enough, since clocks
 * get stepped, so the last epoch is kept in the config dir and the next one is
 * max(now, last + 1) (security invariant 13).
 */

import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { ConfigError } from "../errors.ts";
import { MAX_EPOCH } from "../swim/constants.ts";

/** The file in the config dir that remembers the last boot epoch (decimal ms, one line). */
export const BOOT_EPOCH_FILE = "boot.epoch";

/** The epoch to take now, given the last one used (null: none yet). */
export function nextBootEpoch(last: number | null, now: number): number {
  const floor = Math.max(1, Math.floor(now));
  const next = last === null ? floor : Math.max(floor, last + 1);
  if (next > MAX_EPOCH) throw new ConfigError(`boot epoch ${next} is beyond ${MAX_EPOCH}`);
  return next;
}

/** Parses the file's text; null when it is not one decimal epoch in range. */
export function parseBootEpoch(text: string): number | null {
  const match = /^(\d{1,16})\n?$/.exec(text);
  if (match === null) return null;
  const value = Number(match[1]);
  return value >= 1 && value <= MAX_EPOCH ? value : null;
}

/**
 * Takes the next boot epoch for the node whose config dir is `configDir` and records it
 * before returning, so no two starts ever use the same epoch, even after a crash.
 */
export async function takeBootEpoch(configDir: string, now = Date.now()): Promise<number> {
  const path = join(configDir, BOOT_EPOCH_FILE);
  let last: number | null = null;
  try {
    const text = await Deno.readTextFile(path);
    last = parseBootEpoch(text);
    if (last === null) {
      throw new ConfigError(
        `${path} is corrupt (expected one decimal number); if the system clock is right, remove it and start again`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const epoch = nextBootEpoch(last, now);
  await writeFileAtomic(path, `${epoch}\n`, 0o600);
  return epoch;
}
