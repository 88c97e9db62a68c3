/**
 * Org control messages (spec §5.6), signed by the org key; org_pk itself is not covered:
 * 0x42 OrgCertRevoke  tag ‖ org(32) ‖ node(32) ‖ reason(1) ‖ lamport u64 LE(8) ‖ sig(64) = 138;
 * 0x43 OrgTrustVouch  tag ‖ org(32) ‖ node(32) ‖ lamport(8) ‖ sig(64) = 137.
 * Signed bytes: node ‖ [reason ‖] lamport. The vouch file (`vouched/<hex16>.vouch`) is the
 * message without its tag (136 bytes); the revoke file is the whole message.
 */

import { OrgFormatError } from "./org_errors.ts";
import { publicKeyOfSeed, signEd25519, verifyEd25519 } from "./ed25519_sign.ts";

/** Tag of a revocation. */
export const ORG_REVOKE_TAG = 0x42;
/** Tag of a vouch. */
export const ORG_VOUCH_TAG = 0x43;
/** Size of a revocation message (and file). */
export const ORG_REVOKE_BYTES = 138;
/** Size of a vouch message. */
export const ORG_VOUCH_BYTES = 137;
/** Size of a vouch file (the message without its tag). */
export const VOUCH_FILE_BYTES = 136;

/** Why an org revoked a node. */
export const RevokeReason = { Unspecified: 0, KeyCompromised: 1, AdminRemoved: 2 } as const;
/** A revocation reason code. */
export type RevokeReasonCode = typeof RevokeReason[keyof typeof RevokeReason];

/** The reason's name as `cert show` and logs print it. */
export function reasonName(reason: number): string {
  return ["unspecified", "key-compromised", "admin-removed"][reason] ?? `reason-${reason}`;
}

/** A signed org decision about one node key: revoked, or vouched for. */
export interface OrgControl {
  kind: "revoke" | "vouch";
  orgKey: Uint8Array;
  nodeKey: Uint8Array;
  /** Revocations only (0 for vouches). */
  reason: number;
  /** Orders decisions about one node: the highest wins (unix seconds as the CLI writes it). */
  lamport: number;
  signature: Uint8Array;
  /** The wire message (138 or 137 bytes). */
  bytes: Uint8Array;
}

function signedBytes(kind: "revoke" | "vouch", node: Uint8Array, reason: number, lamport: number) {
  const out = new Uint8Array(kind === "revoke" ? 41 : 40);
  out.set(node);
  let at = 32;
  if (kind === "revoke") out[at++] = reason;
  new DataView(out.buffer).setBigUint64(at, BigInt(lamport), true);
  return out;
}

/** Signs a revocation or vouch with the org's seed. */
export function signOrgControl(
  orgSeed: Uint8Array,
  kind: "revoke" | "vouch",
  nodeKey: Uint8Array,
  lamport: number,
  reason = 0,
): OrgControl {
  if (!Number.isSafeInteger(lamport) || lamport < 0) {
    throw new OrgFormatError(`lamport ${lamport} is not a u64 below 2^53`);
  }
  if (kind === "revoke" && (reason < 0 || reason > 2)) {
    throw new OrgFormatError(`revocation reason ${reason} is not 0, 1 or 2`);
  }
  const orgKey = publicKeyOfSeed(orgSeed);
  const signature = signEd25519(orgSeed, signedBytes(kind, nodeKey, reason, lamport));
  const out = new Uint8Array(kind === "revoke" ? ORG_REVOKE_BYTES : ORG_VOUCH_BYTES);
  out[0] = kind === "revoke" ? ORG_REVOKE_TAG : ORG_VOUCH_TAG;
  out.set(orgKey, 1);
  out.set(nodeKey, 33);
  let at = 65;
  if (kind === "revoke") out[at++] = reason;
  new DataView(out.buffer).setBigUint64(at, BigInt(lamport), true);
  out.set(signature, at + 8);
  return decodeOrgControl(out);
}

/**
 * Decodes a wire message (138-byte revocation or 137-byte vouch). The signature is not checked
 * here: only against a trusted org (`verifyOrgControl`). Throws OrgFormatError.
 */
export function decodeOrgControl(input: Uint8Array): OrgControl {
  const tag = input[0];
  const kind = tag === ORG_REVOKE_TAG ? "revoke" : tag === ORG_VOUCH_TAG ? "vouch" : null;
  if (kind === null) {
    throw new OrgFormatError(`org message tag 0x${(tag ?? 0).toString(16)} is not 0x42 or 0x43`);
  }
  const size = kind === "revoke" ? ORG_REVOKE_BYTES : ORG_VOUCH_BYTES;
  if (input.length !== size) {
    throw new OrgFormatError(`an org ${kind} message is ${size} bytes, got ${input.length}`);
  }
  const bytes = input.slice();
  let at = 65;
  const reason = kind === "revoke" ? bytes[at++] : 0;
  if (reason > 2) throw new OrgFormatError(`revocation reason ${reason} is not 0, 1 or 2`);
  const lamport = new DataView(bytes.buffer).getBigUint64(at, true);
  if (lamport > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OrgFormatError(`lamport ${lamport} is above 2^53`);
  }
  return {
    kind,
    orgKey: bytes.subarray(1, 33),
    nodeKey: bytes.subarray(33, 65),
    reason,
    lamport: Number(lamport),
    signature: bytes.subarray(at + 8, at + 72),
    bytes,
  };
}

/** True when the org's signature verifies (the caller checks the org is trusted). */
export function verifyOrgControl(message: OrgControl): boolean {
  return verifyEd25519(
    message.orgKey,
    signedBytes(message.kind, message.nodeKey, message.reason, message.lamport),
    message.signature,
  );
}

/** The vouch file's bytes (the message without its tag, 136). */
export function vouchFileBytes(message: OrgControl): Uint8Array {
  return message.bytes.slice(1);
}

/**
 * Decodes a file of `revoked/` (138 bytes, the message) or `vouched/` (136, the message
 * without tag; a 137-byte message is accepted too). Throws OrgFormatError.
 */
export function decodeOrgControlFile(bytes: Uint8Array, kind: "revoke" | "vouch"): OrgControl {
  if (kind === "vouch" && bytes.length === VOUCH_FILE_BYTES) {
    const message = new Uint8Array(ORG_VOUCH_BYTES);
    message[0] = ORG_VOUCH_TAG;
    message.set(bytes, 1);
    return decodeOrgControl(message);
  }
  const decoded = decodeOrgControl(bytes);
  if (decoded.kind !== kind) throw new OrgFormatError(`a ${decoded.kind} in the ${kind} folder`);
  return decoded;
}
