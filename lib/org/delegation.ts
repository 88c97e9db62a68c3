/**
 * Delegation grants: the org lets an issuer key sign node certificates until a date, one hop
 * (spec §3.3, v2 delegated). A grant file is the signed payload and the org's signature:
 * version 2(1) ‖ org(32) ‖ issuer(32) ‖ expires i64 LE(8) ‖ flags 0x01(1) ‖ signature(64),
 * 138 bytes; every certificate the issuer signs carries the grant's expiry and signature.
 */

import {
  DELEGATION_PAYLOAD_BYTES,
  type DelegationFields,
  delegationPayload,
} from "./certificate.ts";
import { readI64 } from "./le_int.ts";
import { OrgFormatError } from "./org_errors.ts";
import { publicKeyOfSeed, signEd25519, verifyEd25519 } from "./ed25519_sign.ts";

/** Size of a grant file. */
export const GRANT_BYTES = DELEGATION_PAYLOAD_BYTES + 64;

/** The org signs a grant for `issuerKey` until `expiresAt` (unix seconds; must be > 0). */
export function signGrant(
  orgSeed: Uint8Array,
  issuerKey: Uint8Array,
  expiresAt: number,
): DelegationFields {
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
    throw new OrgFormatError("a delegation needs an expiry date (--expires); it cannot be 'never'");
  }
  const orgKey = publicKeyOfSeed(orgSeed);
  const signature = signEd25519(orgSeed, delegationPayload(orgKey, issuerKey, expiresAt));
  return { orgKey, issuerKey: issuerKey.slice(), expiresAt, signature };
}

/** The grant file's bytes. */
export function encodeGrant(grant: DelegationFields): Uint8Array {
  const out = new Uint8Array(GRANT_BYTES);
  out.set(delegationPayload(grant.orgKey, grant.issuerKey, grant.expiresAt));
  out.set(grant.signature, DELEGATION_PAYLOAD_BYTES);
  return out;
}

/** Decodes a grant file and checks the org's signature; throws OrgFormatError naming the problem. */
export function decodeGrant(bytes: Uint8Array): DelegationFields {
  if (bytes.length !== GRANT_BYTES) {
    throw new OrgFormatError(`a delegation grant is ${GRANT_BYTES} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== 2 || bytes[73] !== 0x01) {
    throw new OrgFormatError("not a delegation grant (version must be 2, flags 0x01)");
  }
  const grant = {
    orgKey: bytes.slice(1, 33),
    issuerKey: bytes.slice(33, 65),
    expiresAt: readI64(bytes, 65, "grant expiry"),
    signature: bytes.slice(DELEGATION_PAYLOAD_BYTES),
  };
  if (grant.expiresAt <= 0) throw new OrgFormatError("delegation grant has no expiry");
  if (!verifyGrant(grant)) throw new OrgFormatError("delegation grant: bad org signature");
  return grant;
}

/** True when the org's signature of the grant verifies. */
export function verifyGrant(grant: DelegationFields): boolean {
  const payload = delegationPayload(grant.orgKey, grant.issuerKey, grant.expiresAt);
  return verifyEd25519(grant.orgKey, payload, grant.signature);
}
