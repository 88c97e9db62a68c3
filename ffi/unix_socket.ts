/**
 * A listening AF_UNIX stream socket through FFI, for control sockets that must know who is
 * asking: SO_PEERCRED gives the connecting process's pid/uid/gid, which Deno's own unix sockets
 * do not expose. Descriptors are non-blocking and every wait is poll() run on Deno's blocking
 * thread pool (a `nonblocking` FFI symbol returning a Promise), so the main thread's event loop
 * never stalls. Waits on a connection carry a deadline, so a silent client holds a pool thread
 * for a bounded time; `shutdown()` wakes a pending wait at once (the kernel reports a shut-down
 * socket readable), which is how `close()` stops a pending accept promptly.
 * x86_64 layouts: sockaddr_un 110 B (family u16, path[108]); struct ucred 12 B (pid i32, uid u32,
 * gid u32); struct pollfd 8 B.
 */

import { Errno, FfiError, InvalidArgumentError } from "./errors.ts";
import { closeDescriptor, cString, lastErrno, libc, systemCallError } from "./libc.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SHUT_RDWR = 2;
/** Writing to a client that went away must fail with EPIPE, not raise SIGPIPE. */
const MSG_NOSIGNAL = 0x4000;
const ECONNABORTED = 103;
const POLLIN = 0x001;
const POLLOUT = 0x004;
const SOCKADDR_UN_SIZE = 110;
/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_PATH_BYTES = 107;
/**
 * Longest single wait of an idle listener. `shutdown()` is what wakes it; the slice only bounds
 * how long a wake-up the kernel somehow failed to deliver could delay `close()`.
 */
const ACCEPT_WAIT_SLICE_MS = 5_000;

/** Who is at the other end of a unix connection, as the kernel recorded it at connect(). */
export interface PeerCredentials {
  /** Process id of the connecting process. */
  pid: number;
  /** Its effective uid. */
  uid: number;
  /** Its effective gid. */
  gid: number;
}

/** A wait on a connection passed its deadline (errno ETIMEDOUT). */
export class SocketTimeoutError extends FfiError {
  constructor(operation: string) {
    super(`${operation} timed out`, Errno.ETIMEDOUT);
  }
}

/**
 * One poll() wait on the thread pool. The pollfd lives in a 64-byte buffer so V8 keeps its
 * backing store off-heap (its address must stay put while the pool thread writes revents).
 */
class Waiter {
  readonly #pollfd = new Uint8Array(64);
  readonly #view = new DataView(this.#pollfd.buffer);
  /** The wait in flight, if any; `close()` awaits it before releasing the descriptor. */
  pending: Promise<number> | null = null;

  constructor(fd: number) {
    this.#view.setInt32(0, fd, true);
  }

  /** Waits until `events` or `timeoutMs` (-1 = forever); returns when poll() returns. */
  async wait(events: number, timeoutMs: number): Promise<void> {
    this.#view.setInt16(4, events, true);
    this.#view.setInt16(6, 0, true);
    // The result (ready count, 0 on timeout, -1 on EINTR) is not needed: the caller retries the
    // non-blocking call, which reports the real state and errno on this thread.
    this.pending = libc().poll_nonblocking(this.#pollfd, 1, Math.max(-1, Math.trunc(timeoutMs)));
    try {
      await this.pending;
    } finally {
      this.pending = null;
    }
  }
}

function remainingMs(deadline: number): number {
  return Math.max(0, Math.ceil(deadline - performance.now()));
}

/** An accepted connection; non-blocking, read and written with deadlines. */
export class UnixStreamConnection {
  readonly #fd: number;
  readonly #waiter: Waiter;
  #closed = false;

  /** Takes ownership of an accepted, non-blocking descriptor. */
  constructor(fd: number) {
    this.#fd = fd;
    this.#waiter = new Waiter(fd);
  }

  /** The descriptor (for diagnostics). */
  get fd(): number {
    return this.#fd;
  }

  /** The peer's pid/uid/gid (SO_PEERCRED), as of its connect(). */
  peerCredentials(): PeerCredentials {
    const ucred = new Uint8Array(12);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, ucred.length, true);
    if (libc().getsockopt(this.#fd, SOL_SOCKET, SO_PEERCRED, ucred, length) !== 0) {
      throw systemCallError("getsockopt(SO_PEERCRED)");
    }
    const view = new DataView(ucred.buffer);
    return {
      pid: view.getInt32(0, true),
      uid: view.getUint32(4, true),
      gid: view.getUint32(8, true),
    };
  }

  /**
   * Reads up to `into.length` bytes; 0 means the peer closed (or `shutdown()` was called).
   * Throws `SocketTimeoutError` when nothing arrives before `deadline` (a `performance.now()`
   * time).
   */
  async read(into: Uint8Array, deadline: number): Promise<number> {
    for (;;) {
      if (this.#closed) return 0;
      const count = libc().recvfrom(this.#fd, into, into.length, 0, null, null);
      if (count >= 0) return count;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno !== Errno.EAGAIN) throw systemCallError("recvfrom(unix socket)", "", errno);
      const remaining = remainingMs(deadline);
      if (remaining === 0) throw new SocketTimeoutError("reading from the unix socket");
      await this.#waiter.wait(POLLIN, remaining);
    }
  }

  /** Writes all of `bytes`, or throws (`SocketTimeoutError` after `deadline`, EPIPE, …). */
  async writeAll(bytes: Uint8Array, deadline: number): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#closed) throw systemCallError("sendto(unix socket)", "", Errno.EBADF);
      const rest = bytes.subarray(offset);
      const sent = libc().sendto(this.#fd, rest, rest.length, MSG_NOSIGNAL, null, 0);
      if (sent >= 0) {
        offset += sent;
        continue;
      }
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno !== Errno.EAGAIN) throw systemCallError("sendto(unix socket)", "", errno);
      const remaining = remainingMs(deadline);
      if (remaining === 0) throw new SocketTimeoutError("writing to the unix socket");
      await this.#waiter.wait(POLLOUT, remaining);
    }
  }

  /** Shuts both directions down: a pending read returns 0 and the peer sees end of file. */
  shutdown(): void {
    if (!this.#closed) libc().shutdown(this.#fd, SHUT_RDWR);
  }

  /** Shuts the connection down, waits for a pending wait to return, and closes it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.shutdown();
    this.#closed = true;
    // The pool thread may still be in poll() on this descriptor: closing it first would let a
    // new descriptor reuse the number under that poll.
    await this.#waiter.pending?.catch(() => {});
    closeDescriptor(this.#fd, "unix connection");
  }
}

/** A bound, listening AF_UNIX stream socket. */
export class UnixStreamListener {
  readonly #fd: number;
  readonly #waiter: Waiter;
  #closing = false;
  #closed: Promise<void> | null = null;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#waiter = new Waiter(fd);
  }

  /**
   * Creates the socket file at `path` and listens (backlog `backlog`). Fails with EADDRINUSE
   * when a file already exists there: removing a stale one is the caller's decision.
   */
  static listen(path: string, backlog = 64): UnixStreamListener {
    const pathBytes = cString(path);
    if (pathBytes.length - 1 > MAX_PATH_BYTES || pathBytes.length === 1) {
      throw new InvalidArgumentError(
        `unix socket path must be 1-${MAX_PATH_BYTES} bytes, got ${pathBytes.length - 1}: ${path}`,
      );
    }
    if (pathBytes.subarray(0, -1).includes(0)) {
      throw new InvalidArgumentError(`unix socket path contains a NUL byte: ${path}`);
    }
    const address = new Uint8Array(SOCKADDR_UN_SIZE);
    new DataView(address.buffer).setUint16(0, AF_UNIX, true);
    address.set(pathBytes, 2);
    const fd = libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw systemCallError("socket(AF_UNIX)");
    try {
      if (libc().bind(fd, address, 2 + pathBytes.length) !== 0) {
        const errno = lastErrno();
        const hint = errno === Errno.EADDRINUSE
          ? `${path} already exists`
          : errno === Errno.EACCES || errno === Errno.EPERM
          ? `no permission to create ${path}`
          : errno === Errno.ENOENT
          ? "its directory does not exist"
          : undefined;
        throw systemCallError(`bind(${path})`, hint ?? "", errno);
      }
      if (libc().listen(fd, backlog) !== 0) throw systemCallError(`listen(${path})`);
    } catch (error) {
      libc().close(fd);
      throw error;
    }
    return new UnixStreamListener(fd);
  }

  /** The descriptor (for diagnostics). */
  get fd(): number {
    return this.#fd;
  }

  /** Waits for the next connection; null once the listener is shut down or closed. */
  async accept(): Promise<UnixStreamConnection | null> {
    for (;;) {
      if (this.#closing) return null;
      const fd = libc().accept4(this.#fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) return new UnixStreamConnection(fd);
      const errno = lastErrno();
      if (errno === Errno.EINTR || errno === ECONNABORTED) continue;
      if (errno === Errno.EAGAIN) {
        await this.#waiter.wait(POLLIN, ACCEPT_WAIT_SLICE_MS);
        continue;
      }
      // After shutdown() accept fails with EINVAL: that is the listener closing, not a fault.
      if (this.#closing) return null;
      throw systemCallError("accept4(unix socket)", "", errno);
    }
  }

  /**
   * Stops listening: shutdown() makes a pending `accept()` return null at once; the descriptor
   * is closed after that wait has returned. Does not remove the socket file.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      libc().shutdown(this.#fd, SHUT_RDWR);
      await this.#waiter.pending?.catch(() => {});
      closeDescriptor(this.#fd, "unix listener");
    })();
    return this.#closed;
  }
}
