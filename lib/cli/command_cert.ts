/** `cert show <file> [--json]`: what a certificate says and whether it admits its node here. */

import { encodeBase64 } from "../encoding/base64.ts";
import { UsageError } from "../errors.ts";
import { isDelegated } from "../org/certificate.ts";
import { PROBLEM_TEXT } from "../org/certificate_check.ts";
import { certificateProblemHere, readCertificateFile } from "../org/certificate_here.ts";
import { formatUnix } from "../org/expiry.ts";
import { certificateName } from "../org/org_trust.ts";
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
  const cert = await readCertificateFile(positionals[1]);
  const problem = await certificateProblemHere(context.configDir(), cert);
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
