/** Integer socket options and buffer sizes, with errors that name the option. */

import { InvalidArgumentError } from "./errors.ts";
import { libc, systemCallError } from "./libc.ts";

const SOL_SOCKET = 1;

/** setsockopt of one int. */
export function setIntOption(fd: number, level: number, name: number, value: number, what: string) {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  if (libc().setsockopt(fd, level, name, bytes, 4) !== 0) {
    throw systemCallError(`setsockopt(${what})`);
  }
}

/** getsockopt of one int. */
export function getIntOption(fd: number, level: number, name: number, what: string): number {
  const bytes = new Uint8Array(4);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, 4, true);
  if (libc().getsockopt(fd, level, name, bytes, length) !== 0) {
    throw systemCallError(`getsockopt(${what})`);
  }
  return new DataView(bytes.buffer).getInt32(0, true);
}

/** Tries the FORCE variant (root may exceed net.core.*mem_max), falls back to the capped one. */
export function setBufferSize(
  fd: number,
  force: number,
  plain: number,
  bytes: number,
  what: string,
) {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > 0x3fffffff) {
    throw new InvalidArgumentError(`${what} of ${bytes} bytes is not in 1..2^30-1`);
  }
  const value = new Uint8Array(4);
  new DataView(value.buffer).setInt32(0, bytes, true);
  if (libc().setsockopt(fd, SOL_SOCKET, force, value, 4) === 0) return;
  setIntOption(fd, SOL_SOCKET, plain, bytes, what);
}
