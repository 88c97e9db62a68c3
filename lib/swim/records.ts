/**
 * The items piggybacked on SWIM messages: a member's own signed alive/leave records and a
 * claimer's signed suspect/dead claims about a third party. Every item is
 * `kind u8 | length u16 LE (whole item) | fields | Ed25519 signature (64)`; the signature
 * covers SIGNATURE_CONTEXT ‖ the item without its signature, so an item can be forwarded by
 * anyone and still proves who made it. Layouts are in `wire_format.md`.
 */

import { ItemKind, MAX_ENDPOINTS, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./constants.ts";
import { MAX_EPOCH, MAX_INCARNATION } from "./constants.ts";
import { SIGNATURE_CONTEXT } from "./constants.ts";
import { type Address, endpointBytes, readEndpoint, writeEndpoint } from "./address.ts";
import { readU32, readU64, writeU32, writeU64 } from "./header.ts";
import type { SwimSigner } from "./swim_crypto.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** NAT types as the original meshguard numbers them. */
export const NatType = { Public: 0, Cone: 1, Symmetric: 2, Unknown: 3 } as const;

/** Alive record flag: the member relays WireGuard datagrams between trusted members. */
export const ALIVE_FLAG_RELAY = 0x01;
/**
 * Alive record flag: the endpoints are followed by `length u16 | org certificate` (lib/org/),
 * which admits the subject on nodes that trust its org. Signed by the subject with the rest.
 */
export const ALIVE_FLAG_CERT = 0x02;
/** Longest certificate an alive record carries (a v2 certificate). */
export const MAX_RECORD_CERT_BYTES = 314;

/** A NAT type code. */
export type NatTypeCode = typeof NatType[keyof typeof NatType];

/** The fields shared by every item: who it is about and which incarnation. */
interface ItemBase {
  /** The member the item is about. */
  subject: Uint8Array;
  /** `subject` as a 32-character binary string, the key of every table. */
  id: string;
  /** Subject's boot epoch (grows on restart). */
  epoch: number;
  /** Subject's incarnation within the epoch (only the subject raises it). */
  incarnation: number;
  /** The whole encoded item, signature included, ready to forward. */
  bytes: Uint8Array;
}

/** A member's own record: where to reach it and how. */
export interface AliveRecord extends ItemBase {
  /** Always ItemKind.Alive. */
  kind: typeof ItemKind.Alive;
  /** The member's NAT type (NatType). */
  nat: NatTypeCode;
  /** Feature bits (ALIVE_FLAG_*); unknown bits are kept and ignored. */
  flags: number;
  /** Endpoints the member can be reached at, most preferred first. */
  endpoints: Address[];
  /** The member's org certificate (ALIVE_FLAG_CERT), a view into `bytes`; null without one. */
  certificate: Uint8Array | null;
}

/** A member's own graceful leave. */
export interface LeaveRecord extends ItemBase {
  /** Always ItemKind.Leave. */
  kind: typeof ItemKind.Leave;
}

/** A claim by `claimer` that `subject` (at epoch/incarnation) is suspect or dead. */
export interface Claim extends ItemBase {
  /** ItemKind.Suspect or ItemKind.Dead. */
  kind: typeof ItemKind.Suspect | typeof ItemKind.Dead;
  /** Who makes the claim (and signed it). */
  claimer: Uint8Array;
  /** `claimer` as a binary-string id. */
  claimerId: string;
}

/** Any piggybacked item. */
export type SwimItem = AliveRecord | LeaveRecord | Claim;

/** The 32-byte key as a binary string (one char per byte): compact and fast as a Map key. */
export function keyId(k: Uint8Array): string {
  if (k.length !== PUBLIC_KEY_BYTES) {
    return String.fromCharCode.apply(null, k as unknown as number[]);
  }
  // Spelled out: `apply` over a typed array is ~3× slower, and this runs per datagram.
  // deno-fmt-ignore
  return String.fromCharCode(
    k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[12], k[13], k[14],
    k[15], k[16], k[17], k[18], k[19], k[20], k[21], k[22], k[23], k[24], k[25], k[26], k[27],
    k[28], k[29], k[30], k[31],
  );
}

const ITEM_HEAD = 3;
const VERSION_FIELDS = PUBLIC_KEY_BYTES + 8 + 4;
const LEAVE_BYTES = ITEM_HEAD + VERSION_FIELDS + SIGNATURE_BYTES;
const CLAIM_BYTES = ITEM_HEAD + VERSION_FIELDS + PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
const ALIVE_FIXED = ITEM_HEAD + VERSION_FIELDS + 3 + SIGNATURE_BYTES;

function start(kind: number, length: number, subject: Uint8Array, epoch: number, inc: number) {
  checkVersion(epoch, inc);
  const out = new Uint8Array(length);
  out[0] = kind;
  out[1] = length & 0xff;
  out[2] = length >> 8;
  out.set(subject, ITEM_HEAD);
  writeU64(out, ITEM_HEAD + PUBLIC_KEY_BYTES, epoch);
  writeU32(out, ITEM_HEAD + PUBLIC_KEY_BYTES + 8, inc);
  return out;
}

/**
 * The signed portion of the item being signed or verified. Signing and verifying are
 * synchronous and read it before returning, so one buffer (grown when an item is larger)
 * serves every call: a big cluster verifies millions of records.
 */
let scratch = new Uint8Array(SIGNATURE_CONTEXT.length + 1200);
scratch.set(SIGNATURE_CONTEXT);

function signedView(item: Uint8Array): Uint8Array {
  const length = SIGNATURE_CONTEXT.length + item.length - SIGNATURE_BYTES;
  if (length > scratch.length) {
    scratch = new Uint8Array(length);
    scratch.set(SIGNATURE_CONTEXT);
  }
  scratch.set(item.subarray(0, item.length - SIGNATURE_BYTES), SIGNATURE_CONTEXT.length);
  return scratch.subarray(0, length);
}

function finish(out: Uint8Array, signer: SwimSigner): void {
  out.set(signer.sign(signedView(out)), out.length - SIGNATURE_BYTES);
}

/** Builds and signs our own alive record. */
export function makeAliveRecord(
  signer: SwimSigner,
  epoch: number,
  incarnation: number,
  nat: NatTypeCode,
  endpoints: Address[],
  flags = 0,
  certificate: Uint8Array | null = null,
): AliveRecord {
  const list = endpoints.slice(0, MAX_ENDPOINTS);
  if (
    certificate !== null && (certificate.length === 0 || certificate.length > MAX_RECORD_CERT_BYTES)
  ) {
    throw new RangeError(`a record's certificate is 1..${MAX_RECORD_CERT_BYTES} bytes`);
  }
  flags = certificate === null ? flags & ~ALIVE_FLAG_CERT : flags | ALIVE_FLAG_CERT;
  const length = ALIVE_FIXED + list.reduce((sum, e) => sum + endpointBytes(e), 0) +
    (certificate === null ? 0 : 2 + certificate.length);
  const out = start(ItemKind.Alive, length, signer.publicKey, epoch, incarnation);
  let offset = ITEM_HEAD + VERSION_FIELDS;
  out[offset++] = nat;
  out[offset++] = flags;
  out[offset++] = list.length;
  for (const endpoint of list) offset = writeEndpoint(out, offset, endpoint);
  let cert: Uint8Array | null = null;
  if (certificate !== null) {
    out[offset] = certificate.length & 0xff;
    out[offset + 1] = certificate.length >> 8;
    out.set(certificate, offset + 2);
    cert = out.subarray(offset + 2, offset + 2 + certificate.length);
  }
  finish(out, signer);
  return {
    kind: ItemKind.Alive,
    subject: signer.publicKey,
    id: keyId(signer.publicKey),
    epoch,
    incarnation,
    nat,
    flags,
    endpoints: list,
    certificate: cert,
    bytes: out,
  };
}

/** Builds and signs our own leave record. */
export function makeLeaveRecord(
  signer: SwimSigner,
  epoch: number,
  incarnation: number,
): LeaveRecord {
  const out = start(ItemKind.Leave, LEAVE_BYTES, signer.publicKey, epoch, incarnation);
  finish(out, signer);
  return {
    kind: ItemKind.Leave,
    subject: signer.publicKey,
    id: keyId(signer.publicKey),
    epoch,
    incarnation,
    bytes: out,
  };
}

/** Builds and signs our claim that `subject` at (epoch, incarnation) is suspect or dead. */
export function makeClaim(
  signer: SwimSigner,
  kind: typeof ItemKind.Suspect | typeof ItemKind.Dead,
  subject: Uint8Array,
  epoch: number,
  incarnation: number,
): Claim {
  const out = start(kind, CLAIM_BYTES, subject, epoch, incarnation);
  out.set(signer.publicKey, ITEM_HEAD + VERSION_FIELDS);
  finish(out, signer);
  return {
    kind,
    subject: out.subarray(ITEM_HEAD, ITEM_HEAD + PUBLIC_KEY_BYTES),
    id: keyId(subject),
    epoch,
    incarnation,
    claimer: signer.publicKey,
    claimerId: keyId(signer.publicKey),
    bytes: out,
  };
}

/** The key whose signature an item must carry: the subject's, or the claimer's for claims. */
export function itemSigner(item: SwimItem): Uint8Array {
  return item.kind === ItemKind.Suspect || item.kind === ItemKind.Dead
    ? item.claimer
    : item.subject;
}

/** Checks an item's signature with `verify` (which may cache). */
export function verifyItem(
  item: SwimItem,
  verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
): boolean {
  const signature = item.bytes.subarray(item.bytes.length - SIGNATURE_BYTES);
  return verify(itemSigner(item), signedView(item.bytes), signature);
}

/**
 * Decodes one item at `offset`. Unknown kinds are skipped (returns null item) so newer
 * senders can add kinds; malformed items throw SwimDecodeError. The item is a view into
 * `bytes`: most gossip is heard again and dropped, so only what is kept is copied (`ownedItem`).
 */
export function readItem(
  bytes: Uint8Array,
  offset: number,
): { item: SwimItem | null; next: number } {
  if (offset + ITEM_HEAD > bytes.length) throw new SwimDecodeError("truncated", "item header");
  const kind = bytes[offset];
  const length = bytes[offset + 1] | (bytes[offset + 2] << 8);
  if (length < ITEM_HEAD || offset + length > bytes.length) {
    throw new SwimDecodeError("bad-length", `item length ${length} runs past the message`);
  }
  const next = offset + length;
  if (kind < ItemKind.Alive || kind > ItemKind.Dead) return { item: null, next };
  const raw = bytes.subarray(offset, next);
  if (length < ITEM_HEAD + VERSION_FIELDS + SIGNATURE_BYTES) {
    throw new SwimDecodeError("bad-length", `item of kind ${kind} is too short`);
  }
  const subject = raw.subarray(ITEM_HEAD, ITEM_HEAD + PUBLIC_KEY_BYTES);
  const epoch = readU64(raw, ITEM_HEAD + PUBLIC_KEY_BYTES);
  const incarnation = readU32(raw, ITEM_HEAD + PUBLIC_KEY_BYTES + 8);
  if (epoch <= 0) throw new SwimDecodeError("bad-number", "item epoch out of range");
  const id = keyId(subject);
  // Literals rather than a spread of shared fields: this runs for every item of every datagram.
  if (kind === ItemKind.Leave) {
    if (length !== LEAVE_BYTES) throw new SwimDecodeError("bad-length", "leave item size");
    return { item: { kind: ItemKind.Leave, subject, id, epoch, incarnation, bytes: raw }, next };
  }
  if (kind === ItemKind.Suspect || kind === ItemKind.Dead) {
    if (length !== CLAIM_BYTES) throw new SwimDecodeError("bad-length", "claim item size");
    const at = ITEM_HEAD + VERSION_FIELDS;
    const claimer = raw.subarray(at, at + PUBLIC_KEY_BYTES);
    const claimerId = keyId(claimer);
    return {
      item: { kind, subject, id, epoch, incarnation, bytes: raw, claimer, claimerId },
      next,
    };
  }
  let at = ITEM_HEAD + VERSION_FIELDS;
  if (length < ALIVE_FIXED) throw new SwimDecodeError("bad-length", "alive item size");
  const nat = raw[at++];
  const flags = raw[at++];
  const count = raw[at++];
  if (nat > NatType.Unknown) throw new SwimDecodeError("bad-value", `NAT type ${nat}`);
  if (count > MAX_ENDPOINTS) throw new SwimDecodeError("bad-value", `${count} endpoints`);
  const endpoints: Address[] = [];
  const end = length - SIGNATURE_BYTES;
  for (let i = 0; i < count; i++) {
    const endpoint = readEndpoint(raw, at, end);
    if (endpoint === null) throw new SwimDecodeError("bad-endpoint", `endpoint ${i} malformed`);
    endpoints.push(endpoint.address);
    at = endpoint.next;
  }
  let certificate: Uint8Array | null = null;
  if ((flags & ALIVE_FLAG_CERT) !== 0) {
    if (at + 2 > end) throw new SwimDecodeError("bad-length", "alive item certificate length");
    const size = raw[at] | (raw[at + 1] << 8);
    if (size === 0 || size > MAX_RECORD_CERT_BYTES || at + 2 + size !== end) {
      throw new SwimDecodeError("bad-length", "alive item certificate size");
    }
    certificate = raw.subarray(at + 2, end);
    at = end;
  }
  if (at !== end) throw new SwimDecodeError("bad-length", "alive item has trailing bytes");
  return {
    item: {
      kind: ItemKind.Alive,
      subject,
      id,
      epoch,
      incarnation,
      bytes: raw,
      nat: nat as NatTypeCode,
      flags,
      endpoints,
      certificate,
    },
    next,
  };
}

/**
 * `item` itself when its bytes own their whole buffer, else a copy that does: a decoded item
 * is a view into its datagram, and one we keep (a member's record, a queued update) must
 * neither pin that datagram nor change if the caller reuses its receive buffer.
 */
export function ownedItem<T extends SwimItem>(item: T): T {
  if (ownsBuffer(item.bytes)) return item;
  const bytes = item.bytes.slice();
  const subject = bytes.subarray(ITEM_HEAD, ITEM_HEAD + PUBLIC_KEY_BYTES);
  if (item.kind === ItemKind.Alive) {
    const cert = item.certificate;
    const certificate = cert === null ? null : bytes.subarray(
      bytes.length - SIGNATURE_BYTES - cert.length,
      bytes.length - SIGNATURE_BYTES,
    );
    return { ...item, bytes, subject, certificate };
  }
  if (item.kind !== ItemKind.Suspect && item.kind !== ItemKind.Dead) {
    return { ...item, bytes, subject };
  }
  const at = ITEM_HEAD + VERSION_FIELDS;
  return { ...item, bytes, subject, claimer: bytes.subarray(at, at + PUBLIC_KEY_BYTES) };
}

/** `bytes` itself when it spans its whole buffer, else a copy that does (see `ownedItem`). */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  return ownsBuffer(bytes) ? bytes : bytes.slice();
}

function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/**
 * Refuses a version that cannot be encoded exactly: an epoch outside 1..MAX_EPOCH or an
 * incarnation outside 0..MAX_INCARNATION would be truncated on the wire, and a truncated
 * version orders below the real one (security invariant 13).
 */
export function checkVersion(epoch: number, incarnation: number): void {
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > MAX_EPOCH) {
    throw new RangeError(`SWIM epoch ${epoch} is outside 1..${MAX_EPOCH}`);
  }
  if (!Number.isInteger(incarnation) || incarnation < 0 || incarnation > MAX_INCARNATION) {
    throw new RangeError(`SWIM incarnation ${incarnation} is outside 0..${MAX_INCARNATION}`);
  }
}

/** Compares two (epoch, incarnation) versions: negative, zero or positive. */
export function compareVersion(
  epochA: number,
  incarnationA: number,
  epochB: number,
  incarnationB: number,
): number {
  return epochA !== epochB ? epochA - epochB : incarnationA - incarnationB;
}
