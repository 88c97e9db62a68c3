/**
 * An eventfd: one thread signals, another's poll() wakes. The device's main thread signals it
 * after posting a message, so the data-plane worker can sleep in poll() while idle instead of
 * waking every few milliseconds to look for messages.
 */

import { libc, systemCallError } from "./libc.ts";

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

/** A non-blocking eventfd shared by fd number between the threads of this process. */
export class EventFd {
  readonly #counter = new BigUint64Array(1);
  readonly #bytes = new Uint8Array(this.#counter.buffer);

  private constructor(readonly fd: number) {}

  /** Creates a new eventfd. */
  static create(): EventFd {
    const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw systemCallError("eventfd");
    return new EventFd(fd);
  }

  /** Wraps an eventfd created by another thread of this process. */
  static fromFd(fd: number): EventFd {
    return new EventFd(fd);
  }

  /** Wakes whoever polls the fd (best effort: a full counter already means "wake"). */
  signal(): void {
    this.#counter[0] = 1n;
    libc().write(this.fd, this.#bytes, 8);
  }

  /** Clears pending signals; true when there was at least one. */
  drain(): boolean {
    return libc().read(this.fd, this.#bytes, 8) === 8;
  }

  /** Closes the fd. */
  close(): void {
    libc().close(this.fd);
  }
}
