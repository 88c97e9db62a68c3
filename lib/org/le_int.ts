/** Little-endian 64-bit integers of the org formats, kept to the safe-integer range. */

import { OrgFormatError } from "./org_errors.ts";

/** Reads an i64 LE at `offset`; throws OrgFormatError naming `field` outside ±2^53. */
export function readI64(bytes: Uint8Array, offset: number, field: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = view.getBigInt64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new OrgFormatError(`${field} ${value} is out of range`);
  }
  return Number(value);
}

/** Writes an integer as i64 LE at `offset`. */
export function writeI64(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigInt64(
    offset,
    BigInt(value),
    true,
  );
}

/** True when every byte of `bytes` is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const byte of bytes) acc |= byte;
  return acc === 0;
}
