/**
 * The one `Deno.dlopen` of libc, opened on first use. Assumes x86_64 Linux with glibc: variadic
 * `open` and `ioctl` are declared with fixed parameters, which matches the SysV x86_64
 * calling convention for these arguments. Results of read/write/sendto/recvfrom/sendmmsg/recvmmsg
 * are declared "i32" rather than isize: 64-bit results come back as BigInt, which costs up to
 * 500 ns per call, and no single call here moves more than 2 GiB.
 */

import { hintFor, SystemCallError } from "./errors.ts";

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  // ioctl(fd, request, struct pointer): TUNSETIFF.
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // ioctl(fd, request, value): TUNSETOFFLOAD takes its flags by value, not through a pointer.
  ioctl_value: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "i32",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "i32",
  },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // The timeout argument is always NULL: waiting is done with poll(), which has clear semantics.
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  // poll() on Deno's blocking thread pool (returns a Promise), for waits that must not stall the
  // main thread's event loop. errno is thread-local, so only the result is meaningful.
  poll_nonblocking: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // Idle memory release (ffi/memory_release.ts): glibc's free-arena trim and page dropping.
  malloc_trim: { parameters: ["usize"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  madvise: { parameters: ["usize", "usize", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type RawLibc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Widen<T> = T extends bigint ? number | bigint : T;
type WidenParameters<F> = F extends (...args: infer A) => infer R
  ? (...args: { [K in keyof A]: Widen<A[K]> }) => R
  : F;

/**
 * The typed libc symbols this layer calls. Deno's FFI accepts a plain number for a 64-bit
 * parameter (size_t, unsigned long) at run time, as fast as a BigInt and without allocating one
 * per call; its published types admit only bigint, so the parameter types are widened here.
 */
export type Libc = { [K in keyof RawLibc]: WidenParameters<RawLibc[K]> };

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/** libc's symbols, opened on first use (one handle per isolate, so each Worker opens its own). */
export function libc(): Libc {
  if (!library) {
    try {
      library = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        throw new Error("libc is unavailable: run deno with unscoped --allow-ffi", {
          cause: error,
        });
      }
      throw error;
    }
  }
  return library.symbols as Libc;
}

/** The calling thread's current errno (read through `__errno_location()`). */
export function lastErrno(): number {
  if (!errnoView) {
    const pointer = libc().__errno_location();
    // errno lives in thread-local storage: the address is stable for this thread (and isolate).
    errnoView = new Deno.UnsafePointerView(pointer!);
  }
  return errnoView.getInt32(0);
}

/** libc's description of an errno, e.g. "Operation not permitted". */
export function describeErrno(errno: number): string {
  const text = libc().strerror(errno | 0);
  return text ? Deno.UnsafePointerView.getCString(text) : `errno ${errno}`;
}

/** A `SystemCallError` for the call that just returned -1 (reads errno now, so call it first). */
export function systemCallError(call: string, hint?: string, errno = lastErrno()): SystemCallError {
  return new SystemCallError(call, errno, describeErrno(errno), hint ?? hintFor(errno));
}

/** A NUL-terminated copy of `text` for path and name parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * The raw address of a view's first byte, for structures the kernel reads (iovecs). Only valid
 * while the view's buffer is neither detached nor resized, so call it once per stable view.
 */
export function addressOf(view: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}

/** Closes a descriptor, raising on failure (EBADF means it was already closed). */
export function closeDescriptor(fd: number, what: string): void {
  if (libc().close(fd | 0) !== 0) throw systemCallError(`close(${what})`);
}
