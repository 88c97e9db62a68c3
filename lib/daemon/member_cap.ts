/**
 * The `--open` member cap: how many members are admitted without trust, and the newcomers
 * refused past it (counted once per key, logged at the 1st, 10th, 100th… so a flood of fresh
 * keys cannot flood the log too). Pure bookkeeping for `MeshPeers`.
 */

/** Members admitted under --open without trust when `--max-members` is not given. */
export const DEFAULT_MAX_MEMBERS = 1024;
/** The largest `--max-members`: the mesh IPv4 /16 has this many usable addresses. */
export const MAX_MAX_MEMBERS = 65_534;

/** Refused keys remembered so each is counted (and logged) once. */
const REFUSED_KEYS_REMEMBERED = 4096;

/** The cap and its counters. */
export class MemberCap {
  /** The most members admitted without trust. */
  readonly max: number;
  /** Members admitted without trust now. */
  count = 0;
  #refused = 0;
  readonly #refusedKeys = new Set<string>();
  #notices: string[] = [];

  /** A cap of `max` members. */
  constructor(max: number) {
    this.max = max;
  }

  /** True while another member fits. */
  get hasRoom(): boolean {
    return this.count < this.max;
  }

  /** Newcomers refused since start. */
  get refused(): number {
    return this.#refused;
  }

  /** Counts a refusal of key `id` (hex); a key already refused recently is not counted again. */
  refuse(id: string): void {
    if (this.#refusedKeys.has(id)) return;
    // Bounded: a flood of fresh keys may be counted again once the set has been cleared.
    if (this.#refusedKeys.size >= REFUSED_KEYS_REMEMBERED) this.#refusedKeys.clear();
    this.#refusedKeys.add(id);
    this.#refused++;
    if (Number.isInteger(Math.log10(this.#refused))) {
      this.#notices.push(
        `--max-members ${this.max} reached: refused newcomer peer-${
          id.slice(0, 8)
        } (${this.#refused} refused so far); raise --max-members or trust keys explicitly`,
      );
    }
  }

  /** The log lines since the last call. */
  drainNotices(): string[] {
    const notices = this.#notices;
    this.#notices = [];
    return notices;
  }
}
