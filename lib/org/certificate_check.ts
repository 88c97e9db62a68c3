/**
 * Whether a certificate admits its node here, sans-IO: it chains to a trusted org (signed by
 * the org, or by an issuer the org granted, one hop), it is within its validity at `now`, the
 * node (and a delegated issuer) is not revoked by that org, a v2 wg key is the one derived from
 * the node key, and it names the key that presents it.
 */

import { constantTimeEqual } from "../encoding/constant_time.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import { certificateSignedBytes, isDelegated, type NodeCertificate } from "./certificate.ts";
import { verifyGrant } from "./delegation.ts";
import { verifyEd25519 } from "./ed25519_sign.ts";

/** Why a certificate does not admit its node (null when it does). */
export type CertificateProblem =
  | "wrong-node"
  | "org-not-trusted"
  | "expired"
  | "revoked"
  | "issuer-revoked"
  | "bad-signature"
  | "bad-delegation"
  | "wg-key-mismatch";

/** One line per problem, as `cert show` and the logs print it. */
export const PROBLEM_TEXT: Record<CertificateProblem, string> = {
  "wrong-node": "the certificate names another node key",
  "org-not-trusted": "its org is not in trusted_orgs/",
  "expired": "it has expired",
  "revoked": "its node is revoked by the org",
  "issuer-revoked": "its delegated issuer is revoked by the org",
  "bad-signature": "its signature does not verify",
  "bad-delegation": "the org's delegation signature does not verify",
  "wg-key-mismatch": "its wg key is not the key derived from the node key",
};

/** What the check needs to know about this node's trust. */
export interface CertificateContext {
  /** Unix seconds. */
  now: number;
  isTrustedOrg(orgKey: Uint8Array): boolean;
  /** True when the org's latest decision about `nodeKey` is a revocation. */
  isRevoked(orgKey: Uint8Array, nodeKey: Uint8Array): boolean;
}

/** True when a certificate with this expiry is valid at `now` (0 = never expires). */
export function withinValidity(expiresAt: number, now: number): boolean {
  return expiresAt === 0 || now < expiresAt;
}

/**
 * The first problem that keeps `cert` from admitting `presenter` (its node key when omitted),
 * cheapest checks first; null when it admits.
 */
export function certificateProblem(
  cert: NodeCertificate,
  context: CertificateContext,
  presenter?: Uint8Array,
): CertificateProblem | null {
  const cheap = cheapCertificateProblem(cert, context, presenter);
  if (cheap !== null) return cheap;
  if (isDelegated(cert)) {
    const grant = {
      orgKey: cert.orgKey,
      issuerKey: cert.issuerKey!,
      expiresAt: cert.expiresAt,
      signature: cert.delegationSignature!,
    };
    if (!verifyGrant(grant)) return "bad-delegation";
  }
  const signer = isDelegated(cert) ? cert.issuerKey! : cert.orgKey;
  if (!verifyEd25519(signer, certificateSignedBytes(cert.bytes), cert.signature)) {
    return "bad-signature";
  }
  return null;
}

/** The checks that cost no signature verification (run before spending crypto on a stranger). */
export function cheapCertificateProblem(
  cert: NodeCertificate,
  context: CertificateContext,
  presenter?: Uint8Array,
): CertificateProblem | null {
  if (presenter !== undefined && !constantTimeEqual(presenter, cert.nodeKey)) return "wrong-node";
  if (!context.isTrustedOrg(cert.orgKey)) return "org-not-trusted";
  if (!withinValidity(cert.expiresAt, context.now)) return "expired";
  if (context.isRevoked(cert.orgKey, cert.nodeKey)) return "revoked";
  if (isDelegated(cert) && context.isRevoked(cert.orgKey, cert.issuerKey!)) {
    return "issuer-revoked";
  }
  if (cert.wgKey !== null) {
    let derived: Uint8Array;
    try {
      derived = wireguardPublicKeyOf(cert.nodeKey);
    } catch {
      return "wg-key-mismatch";
    }
    if (!constantTimeEqual(derived, cert.wgKey)) return "wg-key-mismatch";
  }
  return null;
}
