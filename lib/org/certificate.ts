/**
 * The org's node certificate, byte-compatible with the original meshguard (spec §3.3): v1 is
 * 186 bytes, v2 314 (a v1 written into a 314-byte file is zero-padded). Offsets:
 * version(1) org(32) node(32) name(32, NUL-padded) issued i64(8) expires i64(8, 0 = never)
 * flags(1, bit0 delegated) signature(64) padding(8) | v2: wg key(32) issuer(32)
 * delegation signature(64). Pure codec and signing; whether a certificate admits anyone is
 * `certificate_check.ts`.
 */

import { isDnsLabel } from "../trust/dns_label.ts";
import { isAllZero, readI64, writeI64 } from "./le_int.ts";
import { OrgFormatError } from "./org_errors.ts";
import { publicKeyOfSeed, signEd25519 } from "./ed25519_sign.ts";

/** Size of a v1 certificate. */
export const CERT_V1_BYTES = 186;
/** Size of a v2 certificate (and of every certificate file the original writes). */
export const CERT_V2_BYTES = 314;
/** Flags bit 0: a delegated issuer signed the certificate (v2 only). */
export const CERT_FLAG_DELEGATED = 0x01;
/** Longest node name a certificate holds. */
export const CERT_NAME_BYTES = 32;

const AT_ORG = 1;
const AT_NODE = 33;
const AT_NAME = 65;
const AT_ISSUED = 97;
const AT_EXPIRES = 105;
const AT_FLAGS = 113;
const AT_SIGNATURE = 114;
const AT_PADDING = 178;
const AT_WG = 186;
const AT_ISSUER = 218;
const AT_DELEGATION = 250;
/** Bytes of a delegation grant's signed payload: version, org, issuer, expires, flags. */
export const DELEGATION_PAYLOAD_BYTES = 74;

/** A decoded node certificate. */
export interface NodeCertificate {
  version: 1 | 2;
  orgKey: Uint8Array;
  nodeKey: Uint8Array;
  /** The node name, a DNS label of at most 32 characters. */
  name: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds; 0 = never expires. */
  expiresAt: number;
  flags: number;
  signature: Uint8Array;
  /** v2: the X25519 key the signature binds; null in v1. */
  wgKey: Uint8Array | null;
  /** v2 delegated: the issuer that signed; null otherwise. */
  issuerKey: Uint8Array | null;
  /** v2 delegated: the org's signature of the grant; null otherwise. */
  delegationSignature: Uint8Array | null;
  /** The canonical encoding: 186 bytes (v1) or 314 (v2). */
  bytes: Uint8Array;
}

/** True when the certificate was signed by a delegated issuer. */
export function isDelegated(cert: NodeCertificate): boolean {
  return cert.version === 2 && (cert.flags & CERT_FLAG_DELEGATED) !== 0;
}

/**
 * Decodes a certificate file or wire copy: exactly 186 bytes (v1) or 314 (v2, or a
 * zero-padded v1). Throws OrgFormatError naming the problem.
 */
export function decodeCertificate(input: Uint8Array): NodeCertificate {
  if (input.length !== CERT_V1_BYTES && input.length !== CERT_V2_BYTES) {
    throw new OrgFormatError(
      `a certificate is ${CERT_V1_BYTES} (v1) or ${CERT_V2_BYTES} (v2) bytes, got ${input.length}`,
    );
  }
  const version = input[0];
  if (version !== 1 && version !== 2) {
    throw new OrgFormatError(`certificate version ${version} is not 1 or 2`);
  }
  if (version === 2 && input.length !== CERT_V2_BYTES) {
    throw new OrgFormatError(`a v2 certificate is ${CERT_V2_BYTES} bytes, got ${input.length}`);
  }
  if (!isAllZero(input.subarray(AT_PADDING, AT_WG))) {
    throw new OrgFormatError("certificate padding (bytes 178..186) is not zero");
  }
  if (version === 1 && !isAllZero(input.subarray(CERT_V1_BYTES))) {
    throw new OrgFormatError("a v1 certificate has non-zero bytes after byte 186");
  }
  const flags = input[AT_FLAGS];
  if (version === 1 && flags !== 0) {
    throw new OrgFormatError(`v1 certificate flags must be 0, got ${flags}`);
  }
  if ((flags & ~CERT_FLAG_DELEGATED) !== 0) {
    throw new OrgFormatError(`certificate flags 0x${flags.toString(16)} has unknown bits`);
  }
  const name = decodeName(input.subarray(AT_NAME, AT_NAME + CERT_NAME_BYTES));
  const issuedAt = readI64(input, AT_ISSUED, "issued_at");
  const expiresAt = readI64(input, AT_EXPIRES, "expires_at");
  if (expiresAt < 0) throw new OrgFormatError(`expires_at ${expiresAt} is negative`);
  const bytes = input.slice(0, version === 1 ? CERT_V1_BYTES : CERT_V2_BYTES);
  let wgKey: Uint8Array | null = null;
  let issuerKey: Uint8Array | null = null;
  let delegationSignature: Uint8Array | null = null;
  if (version === 2) {
    wgKey = bytes.subarray(AT_WG, AT_WG + 32);
    if (isAllZero(wgKey)) throw new OrgFormatError("v2 certificate wg key is all zero");
    const issuer = bytes.subarray(AT_ISSUER, AT_ISSUER + 32);
    const delegation = bytes.subarray(AT_DELEGATION, AT_DELEGATION + 64);
    if ((flags & CERT_FLAG_DELEGATED) !== 0) {
      if (isAllZero(issuer)) throw new OrgFormatError("delegated certificate has no issuer key");
      issuerKey = issuer;
      delegationSignature = delegation;
    } else if (!isAllZero(issuer) || !isAllZero(delegation)) {
      throw new OrgFormatError("a direct v2 certificate has a non-zero issuer or delegation");
    }
  }
  return {
    version,
    orgKey: bytes.subarray(AT_ORG, AT_ORG + 32),
    nodeKey: bytes.subarray(AT_NODE, AT_NODE + 32),
    name,
    issuedAt,
    expiresAt,
    flags,
    signature: bytes.subarray(AT_SIGNATURE, AT_SIGNATURE + 64),
    wgKey,
    issuerKey,
    delegationSignature,
    bytes,
  };
}

function decodeName(field: Uint8Array): string {
  let end = field.indexOf(0);
  if (end === -1) end = field.length;
  if (!isAllZero(field.subarray(end))) {
    throw new OrgFormatError("certificate node name has bytes after its NUL padding");
  }
  const name = String.fromCharCode(...field.subarray(0, end));
  if (!isDnsLabel(name)) {
    throw new OrgFormatError(`certificate node name '${name}' is not a DNS label`);
  }
  return name;
}

/** The bytes the certificate's signature covers (v1: [0,114); v2: that ‖ wg ‖ issuer). */
export function certificateSignedBytes(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 1) return bytes.slice(0, AT_SIGNATURE);
  const out = new Uint8Array(AT_SIGNATURE + 64);
  out.set(bytes.subarray(0, AT_SIGNATURE));
  out.set(bytes.subarray(AT_WG, AT_WG + 64), AT_SIGNATURE);
  return out;
}

/** The grant the org signs for a delegated issuer: version 2 ‖ org ‖ issuer ‖ expires ‖ flags. */
export function delegationPayload(
  orgKey: Uint8Array,
  issuerKey: Uint8Array,
  expiresAt: number,
): Uint8Array {
  const out = new Uint8Array(DELEGATION_PAYLOAD_BYTES);
  out[0] = 2;
  out.set(orgKey, 1);
  out.set(issuerKey, 33);
  writeI64(out, 65, expiresAt);
  out[73] = CERT_FLAG_DELEGATED;
  return out;
}

/** What a new certificate says. */
export interface CertificateFields {
  nodeKey: Uint8Array;
  name: string;
  issuedAt: number;
  /** 0 = never. */
  expiresAt: number;
  /** Given: a v2 certificate binding this X25519 key (must not be all zero). */
  wgKey?: Uint8Array | null;
}

/** A delegation grant as the delegate holds it (see `delegation.ts`). */
export interface DelegationFields {
  orgKey: Uint8Array;
  issuerKey: Uint8Array;
  expiresAt: number;
  signature: Uint8Array;
}

function checkFields(fields: CertificateFields): void {
  if (!isDnsLabel(fields.name) || fields.name.length > CERT_NAME_BYTES) {
    throw new OrgFormatError(
      `node name '${fields.name}' is not a DNS label of at most ${CERT_NAME_BYTES} characters ([a-z0-9-])`,
    );
  }
  if (fields.nodeKey.length !== 32) throw new OrgFormatError("node key is not 32 bytes");
  if (!Number.isSafeInteger(fields.expiresAt) || fields.expiresAt < 0) {
    throw new OrgFormatError(`expiry ${fields.expiresAt} is not a unix time ≥ 0`);
  }
  const wg = fields.wgKey;
  if (wg != null && (wg.length !== 32 || isAllZero(wg))) {
    throw new OrgFormatError("the wg key must be 32 bytes and not all zero");
  }
}

function layout(orgKey: Uint8Array, fields: CertificateFields, flags: number): Uint8Array {
  const v2 = fields.wgKey != null;
  const out = new Uint8Array(v2 ? CERT_V2_BYTES : CERT_V1_BYTES);
  out[0] = v2 ? 2 : 1;
  out.set(orgKey, AT_ORG);
  out.set(fields.nodeKey, AT_NODE);
  for (let i = 0; i < fields.name.length; i++) out[AT_NAME + i] = fields.name.charCodeAt(i);
  writeI64(out, AT_ISSUED, fields.issuedAt);
  writeI64(out, AT_EXPIRES, fields.expiresAt);
  out[AT_FLAGS] = flags;
  if (v2) out.set(fields.wgKey!, AT_WG);
  return out;
}

/** Signs a direct certificate with the org's seed: v2 when `wgKey` is given, else v1. */
export function signCertificate(orgSeed: Uint8Array, fields: CertificateFields): NodeCertificate {
  checkFields(fields);
  const out = layout(publicKeyOfSeed(orgSeed), fields, 0);
  out.set(signEd25519(orgSeed, certificateSignedBytes(out)), AT_SIGNATURE);
  return decodeCertificate(out);
}

/**
 * Signs a delegated v2 certificate with the issuer's seed under the org's grant. Its expiry is
 * the grant's (the org's delegation signature covers it).
 */
export function signDelegatedCertificate(
  issuerSeed: Uint8Array,
  grant: DelegationFields,
  fields: Omit<CertificateFields, "expiresAt">,
): NodeCertificate {
  const full = { ...fields, expiresAt: grant.expiresAt };
  if (full.wgKey == null) throw new OrgFormatError("a delegated certificate needs a wg key (v2)");
  checkFields(full);
  const out = layout(grant.orgKey, full, CERT_FLAG_DELEGATED);
  out.set(grant.issuerKey, AT_ISSUER);
  out.set(grant.signature, AT_DELEGATION);
  out.set(signEd25519(issuerSeed, certificateSignedBytes(out)), AT_SIGNATURE);
  return decodeCertificate(out);
}

/** The certificate as the original writes it: always 314 bytes (a v1 zero-padded). */
export function certificateFileBytes(cert: NodeCertificate): Uint8Array {
  const out = new Uint8Array(CERT_V2_BYTES);
  out.set(cert.bytes);
  return out;
}
