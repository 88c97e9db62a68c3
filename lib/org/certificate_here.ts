/**
 * A certificate file as the CLI reads it, and whether it admits its node on this node: the
 * org trust of the config dir (`trusted_orgs/`, `revoked/`, `vouched/`) at the current time.
 * `cert show` and `service show --cert` ask the same question the daemon asks on admission.
 */

import { listTrusted } from "../trust/trust_store.ts";
import { CERT_V2_BYTES, decodeCertificate, type NodeCertificate } from "./certificate.ts";
import { type CertificateProblem, certificateProblem } from "./certificate_check.ts";
import { OrgFormatError } from "./org_errors.ts";
import { loadOrgControls } from "./org_files.ts";
import { OrgTrust } from "./org_trust.ts";

/** Reads and decodes a certificate file; a missing, oversized or bad file is one OrgFormatError. */
export async function readCertificateFile(path: string): Promise<NodeCertificate> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info?.isFile) throw new OrgFormatError(`no such certificate file: ${path}`);
  if (info.size > CERT_V2_BYTES) {
    throw new OrgFormatError(
      `${path}: a certificate is at most ${CERT_V2_BYTES} bytes, got ${info.size}`,
    );
  }
  try {
    return decodeCertificate(await Deno.readFile(path));
  } catch (error) {
    throw new OrgFormatError(`${path}: ${(error as Error).message}`);
  }
}

/** Why `cert` would not admit its node on the node of `configDir` now, or null when it would. */
export async function certificateProblemHere(
  configDir: string,
  cert: NodeCertificate,
): Promise<CertificateProblem | null> {
  const now = Math.floor(Date.now() / 1000);
  const trust = new OrgTrust(() => now);
  trust.setTrustedOrgs(
    (await listTrusted(configDir, "org")).entries.map((entry) => entry.publicKey),
  );
  for (const control of (await loadOrgControls(configDir)).controls) trust.applyControl(control);
  return certificateProblem(cert, {
    now,
    isTrustedOrg: (key) => trust.isTrustedOrg(key),
    isRevoked: (org, node) => trust.isRevoked(org, node),
  });
}
