/** `cert show <file> [--json]`: what a certificate says and whether it admits its node here. */

import { encodeBase64 } from "../encoding/base64.ts";
import { UsageError } from "../errors.ts";
import { listTrusted } from "../trust/trust_store.ts";
import { CERT_V2_BYTES, decodeCertificate, isDelegated } from "../org/certificate.ts";
import { certificateProblem, PROBLEM_TEXT } from "../org/certificate_check.ts";
import { formatUnix } from "../org/expiry.ts";
import { OrgFormatError } from "../org/org_errors.ts";
import { loadOrgControls } from "../org/org_files.ts";
import { certificateName, OrgTrust } from "../org/org_trust.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs `cert show <file> [--json]`; exits 0 when it admits its node here, 1 when not. */
export async function certCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("cert", args, {
    json: { type: "boolean" },
  });
  if (positionals[0] !== "show" || positionals.length !== 2) {
    throw new UsageError("usage: cert show <file> [--json]", "cert");
  }
  const path = positionals[1];
  const info = await Deno.stat(path).catch(() => null);
  if (!info?.isFile) throw new OrgFormatError(`no such certificate file: ${path}`);
  if (info.size > CERT_V2_BYTES) {
    throw new OrgFormatError(
      `${path}: a certificate is at most ${CERT_V2_BYTES} bytes, got ${info.size}`,
    );
  }
  let cert;
  try {
    cert = decodeCertificate(await Deno.readFile(path));
  } catch (error) {
    throw new OrgFormatError(`${path}: ${(error as Error).message}`);
  }
  const configDir = context.configDir();
  const now = Math.floor(Date.now() / 1000);
  const trust = new OrgTrust(() => now);
  trust.setTrustedOrgs(
    (await listTrusted(configDir, "org")).entries.map((entry) => entry.publicKey),
  );
  for (const control of (await loadOrgControls(configDir)).controls) trust.applyControl(control);
  const problem = certificateProblem(cert, {
    now,
    isTrustedOrg: (key) => trust.isTrustedOrg(key),
    isRevoked: (org, node) => trust.isRevoked(org, node),
  });
  const names = certificateName(cert);
  const report = {
    version: cert.version,
    name: cert.name,
    fqdn: names.fqdn,
    org_domain: names.orgDomain,
    org_public_key: encodeBase64(cert.orgKey),
    node_public_key: encodeBase64(cert.nodeKey),
    issued_at: formatUnix(cert.issuedAt),
    expires_at: formatUnix(cert.expiresAt),
    wireguard_public_key: cert.wgKey ? encodeBase64(cert.wgKey) : null,
    delegated: isDelegated(cert),
    issuer_public_key: cert.issuerKey ? encodeBase64(cert.issuerKey) : null,
    valid_here: problem === null,
    problem,
    reason: problem === null ? null : PROBLEM_TEXT[problem],
  };
  if (values.json) {
    context.io.stdout(JSON.stringify(report, null, 2) + "\n");
  } else {
    const lines = [
      `certificate v${report.version}${report.delegated ? " (delegated)" : ""}`,
      `  name:       ${report.fqdn}`,
      `  node key:   ${report.node_public_key}`,
      `  org key:    ${report.org_public_key} (${report.org_domain}.mesh)`,
      ...(report.issuer_public_key ? [`  issuer:     ${report.issuer_public_key}`] : []),
      ...(report.wireguard_public_key ? [`  wg key:     ${report.wireguard_public_key}`] : []),
      `  issued:     ${report.issued_at}`,
      `  expires:    ${report.expires_at}`,
      `  valid here: ${problem === null ? "yes" : `no: ${report.reason}`}`,
    ];
    context.io.stdout(lines.join("\n") + "\n");
  }
  return problem === null ? 0 : 1;
}
