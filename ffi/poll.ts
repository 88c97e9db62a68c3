/**
 * poll(2) over a fixed set of descriptors. The pollfd array is allocated once per `PollSet`, so
 * a worker loop can wait on its TUN/UDP fds plus a shutdown fd without allocating per wait.
 */

import { Errno } from "./errors.ts";
import { lastErrno, libc, systemCallError } from "./libc.ts";

/** Data may be read without blocking. */
export const POLLIN = 0x001;
/** Data may be written without blocking. */
export const POLLOUT = 0x004;
/** An error is pending on the descriptor (always reported). */
export const POLLERR = 0x008;
/** The peer hung up / the device went away (always reported). */
export const POLLHUP = 0x010;
/** The descriptor is not open (always reported). */
export const POLLNVAL = 0x020;

/** struct pollfd { int fd; short events; short revents; } is 8 bytes on Linux. */
const POLLFD_SIZE = 8;

/** A reusable poll() set: register fds once, then `wait()` in a loop and read `revents(i)`. */
export class PollSet {
  readonly #buffer: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #count: number;

  /** Builds a set over `fds`, each waiting for the matching `events` (POLLIN when omitted). */
  constructor(fds: readonly number[], events?: readonly number[]) {
    this.#count = fds.length;
    // At least 64 bytes so V8 keeps the backing store off-heap (stable address during the call).
    this.#buffer = new Uint8Array(Math.max(64, fds.length * POLLFD_SIZE));
    this.#view = new DataView(this.#buffer.buffer);
    fds.forEach((fd, i) => {
      this.#view.setInt32(i * POLLFD_SIZE, fd, true);
      this.#view.setInt16(i * POLLFD_SIZE + 4, events?.[i] ?? POLLIN, true);
    });
  }

  /** Number of descriptors in the set. */
  get size(): number {
    return this.#count;
  }

  /** Changes the events watched for entry `index` (e.g. add POLLOUT while a send is blocked). */
  setEvents(index: number, events: number): void {
    this.#view.setInt16(index * POLLFD_SIZE + 4, events, true);
  }

  /**
   * Blocks until an fd is ready or `timeoutMs` passes (-1 = forever, 0 = just check). Returns
   * how many entries have events (0 on timeout). EINTR counts as a timeout-free retry.
   */
  wait(timeoutMs: number): number {
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0;
    let remaining = timeoutMs;
    for (;;) {
      const ready = libc().poll(this.#buffer, this.#count, remaining | 0);
      if (ready >= 0) return ready;
      const errno = lastErrno();
      if (errno !== Errno.EINTR) throw systemCallError("poll", undefined, errno);
      if (timeoutMs > 0) remaining = Math.max(0, Math.ceil(deadline - performance.now()));
    }
  }

  /** The events reported for entry `index` by the last `wait()` (POLLIN, POLLHUP, …). */
  revents(index: number): number {
    return this.#view.getInt16(index * POLLFD_SIZE + 6, true);
  }
}

/** Waits for `events` on one fd; true when ready, false on timeout (a convenience for I/O calls). */
export function waitFor(fd: number, events: number, timeoutMs: number): boolean {
  return new PollSet([fd], [events]).wait(timeoutMs) > 0;
}
