/**
 * Who may hold control connections at once, charged by the uid the kernel reports
 * (SO_PEERCRED): every other user shares a pool with a per-uid cap, and root and the daemon's
 * own uid have slots of their own, so one local user holding idle connections can neither
 * exhaust the pool for others nor lock out the administrator.
 */

/** The caps; all counts are connections open at once. */
/** Root and the daemon's own uid: allowed to mutate, and served from their own slots. */
export function isPrivilegedUid(uid: number, daemonUid: number): boolean {
  return uid === 0 || uid === daemonUid;
}

export interface ConnectionLimitOptions {
  /** The daemon's uid, privileged like root. */
  daemonUid: number;
  /** All uids other than root and the daemon's together. */
  maxConnections: number;
  /** One such uid. */
  maxConnectionsPerUid: number;
  /** Root and the daemon's uid together; never used by anyone else. */
  privilegedConnections: number;
}

/** Counts connections per uid and decides whether one more may be served. */
export class ConnectionLimits {
  readonly #options: ConnectionLimitOptions;
  /** Open connections per uid (only uids with at least one). */
  readonly #perUid = new Map<number, number>();
  #privileged = 0;
  #others = 0;

  constructor(options: ConnectionLimitOptions) {
    this.#options = options;
  }

  /** Root and the daemon's uid: allowed to mutate, and served from their own slots. */
  isPrivileged(uid: number): boolean {
    return isPrivilegedUid(uid, this.#options.daemonUid);
  }

  /** Connections open for `uid`. */
  heldBy(uid: number): number {
    return this.#perUid.get(uid) ?? 0;
  }

  /**
   * Charges one more connection to `uid`: null when admitted (pair it with `release`), else the
   * reason it is refused, worded for the client.
   */
  admit(uid: number): string | null {
    const { maxConnections, maxConnectionsPerUid, privilegedConnections } = this.#options;
    const held = this.heldBy(uid);
    if (this.isPrivileged(uid)) {
      if (this.#privileged >= privilegedConnections) {
        return `busy: ${this.#privileged} control connections of root and the daemon's user ` +
          "are open; try again";
      }
      this.#privileged++;
    } else {
      if (held >= maxConnectionsPerUid) {
        return `busy: uid ${uid} already has ${held} control connections open; try again`;
      }
      if (this.#others >= maxConnections) {
        return `busy: ${this.#others} control connections are open; try again`;
      }
      this.#others++;
    }
    this.#perUid.set(uid, held + 1);
    return null;
  }

  /** Returns the slot of a connection `admit` let in. */
  release(uid: number): void {
    const held = this.heldBy(uid);
    if (held === 0) return;
    if (this.isPrivileged(uid)) this.#privileged--;
    else this.#others--;
    if (held > 1) this.#perUid.set(uid, held - 1);
    else this.#perUid.delete(uid);
  }
}
