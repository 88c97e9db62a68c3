/**
 * Typed errors of the FFI layer. `ffi/` imports nothing from `lib/`, so these stand alone; each
 * carries the Linux errno (stable across libc versions) and a message that says what to do.
 */

/** Symbolic names of the errno values this layer meets (x86_64 Linux numbering). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  34: "ERANGE",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/** Errno values the other modules test for by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTSOCK: 88,
  EADDRINUSE: 98,
  ENETDOWN: 100,
  ETIMEDOUT: 110,
} as const;

/** The symbolic name of an errno (`EPERM`), or `E<number>` when this table lacks it. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** Base class of every error the FFI layer raises; `errno` is the Linux error number. */
export class FfiError extends Error {
  /** The Linux errno behind the failure (EINVAL for arguments rejected before any call). */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `EPERM`. */
  readonly code: string;
  constructor(message: string, errno: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

/** A libc call returned -1; `call` names it (`ioctl(TUNSETIFF)`), `errno` says why. */
export class SystemCallError extends FfiError {
  /** The failed call, with the operation when the call is generic (ioctl, setsockopt). */
  readonly call: string;
  constructor(call: string, errno: number, description: string, hint?: string) {
    super(
      `${call} failed: ${errnoName(errno)} (${description})${hint ? `; ${hint}` : ""}`,
      errno,
    );
    this.call = call;
  }
}

/** The kernel rejected an rtnetlink request; `detail` is its extended-ACK text, if any. */
export class NetlinkError extends FfiError {
  /** The request that failed, e.g. `RTM_NEWADDR 10.99.0.1/16 on ifindex 4`. */
  readonly request: string;
  /** The kernel's extended ACK message (NLMSGERR_ATTR_MSG), or "" when it sent none. */
  readonly detail: string;
  constructor(request: string, errno: number, description: string, detail: string, hint?: string) {
    const why = detail ? `${description}: ${detail}` : description;
    super(`${request} failed: ${errnoName(errno)} (${why})${hint ? `; ${hint}` : ""}`, errno);
    this.request = request;
    this.detail = detail;
  }
}

/** An argument was refused before reaching the kernel (bad length, range); errno is EINVAL. */
export class InvalidArgumentError extends FfiError {
  constructor(message: string) {
    super(message, Errno.EINVAL);
  }
}

/** Hints for errno values whose fix is the same wherever they occur. */
export function hintFor(errno: number): string | undefined {
  switch (errno) {
    case Errno.EPERM:
    case Errno.EACCES:
      return "run as root or grant the process CAP_NET_ADMIN";
    case Errno.EBADF:
      return "the descriptor was already closed";
    default:
      return undefined;
  }
}
