/**
 * The plaintext body inside every encrypted SWIM datagram:
 * `seq u32 LE | flags u8 | [target pk 32, PingReq only] | count u8 | count × item`.
 * Sync messages use `seq` as the page cursor. Hello (unencrypted) has its own layout in
 * `hello.ts`.
 */

import {
  AEAD_TAG_BYTES,
  HEADER_BYTES,
  ItemKind,
  MAX_DATAGRAM_BYTES,
  MessageType,
  PUBLIC_KEY_BYTES,
} from "./constants.ts";
import { readU32, writeU32 } from "./header.ts";
import { readItem, type SwimItem } from "./records.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** Body flag: "I do not know you; send me your alive record". */
export const FLAG_INTRODUCE = 0x01;
/** SyncRequest flag: we are joining, so keep paging until the end. */
export const FLAG_SYNC_FULL = 0x02;
/** SyncResponse flag: this was the last page. */
export const FLAG_SYNC_DONE = 0x04;

/** A decoded body. */
export interface SwimBody {
  /** Probe sequence number, or page cursor for sync messages. */
  seq: number;
  /** FLAG_* bits. */
  flags: number;
  /** PingReq: whom to probe. */
  target: Uint8Array | null;
  /** Piggybacked items (unknown kinds skipped); read only (may be a shared empty array). */
  items: readonly SwimItem[];
  /** Org control messages carried (ItemKind.OrgControl), views into the body, unverified; read only. */
  controls: readonly Uint8Array[];
}

/** Fixed body bytes before the items for a message type. */
export function bodyFixedBytes(type: number): number {
  return 4 + 1 + (type === MessageType.PingReq ? PUBLIC_KEY_BYTES : 0) + 1;
}

/** Room left for items in one datagram of this type (keeps every datagram ≤ 1,200 bytes). */
export function itemBudget(type: number): number {
  return MAX_DATAGRAM_BYTES - HEADER_BYTES - AEAD_TAG_BYTES - bodyFixedBytes(type);
}

/** Encoded size of a body carrying `items`. */
export function bodyBytes(type: number, items: Uint8Array[]): number {
  let size = bodyFixedBytes(type);
  for (const item of items) size += item.length;
  return size;
}

/** Encodes a body; `items` are already-encoded items that the caller made fit the budget. */
export function encodeBody(
  type: number,
  seq: number,
  flags: number,
  target: Uint8Array | null,
  items: Uint8Array[],
): Uint8Array {
  const out = new Uint8Array(bodyBytes(type, items));
  encodeBodyInto(out, 0, type, seq, flags, target, items);
  return out;
}

/** Encodes a body into `out` at `offset` (room for `bodyBytes(type, items)` bytes). */
export function encodeBodyInto(
  out: Uint8Array,
  offset: number,
  type: number,
  seq: number,
  flags: number,
  target: Uint8Array | null,
  items: Uint8Array[],
): void {
  writeU32(out, offset, seq);
  out[offset + 4] = flags;
  offset += 5;
  if (type === MessageType.PingReq) {
    if (target === null) throw new TypeError("a PingReq needs a target");
    out.set(target, offset);
    offset += PUBLIC_KEY_BYTES;
  }
  out[offset++] = items.length;
  for (const item of items) {
    out.set(item, offset);
    offset += item.length;
  }
}

/** What a body without items or controls holds (shared; frozen, so a write fails loudly). */
const NO_ITEMS: readonly SwimItem[] = Object.freeze([]);
/** See NO_ITEMS. */
const NO_CONTROLS: readonly Uint8Array[] = Object.freeze([]);

/** Decodes a body; throws only SwimDecodeError. */
export function decodeBody(type: number, bytes: Uint8Array): SwimBody {
  const fixed = bodyFixedBytes(type);
  if (bytes.length < fixed) throw new SwimDecodeError("truncated", "body shorter than its header");
  const seq = readU32(bytes, 0);
  const flags = bytes[4];
  let offset = 5;
  let target: Uint8Array | null = null;
  if (type === MessageType.PingReq) {
    target = bytes.slice(offset, offset + PUBLIC_KEY_BYTES);
    offset += PUBLIC_KEY_BYTES;
  }
  const count = bytes[offset++];
  // Most bodies (bare pings and acks) carry nothing: they share the frozen empty arrays.
  let items = NO_ITEMS as SwimItem[];
  let controls = NO_CONTROLS as Uint8Array[];
  for (let i = 0; i < count; i++) {
    const kind = bytes[offset];
    const { item, next } = readItem(bytes, offset);
    if (item !== null) {
      if (items === NO_ITEMS) items = [];
      items.push(item);
    } else if (kind === ItemKind.OrgControl) {
      if (controls === NO_CONTROLS) controls = [];
      controls.push(bytes.subarray(offset + 3, next));
    }
    offset = next;
  }
  if (offset !== bytes.length) throw new SwimDecodeError("bad-length", "trailing body bytes");
  return { seq, flags, target, items, controls };
}
