/**
 * `meshguard service show`: what a peer may reach on this node, in the order the daemon
 * evaluates it (peer → org → global → default). The org level needs the peer's org, which a
 * node learns only from the certificate the peer presents: `--cert FILE` (checked against
 * `trusted_orgs/` and `revoked/` as the daemon would) or `--org NAME|KEY` (what a member of that
 * org would get). Without either, org files are left out and a note says so.
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { MeshguardError, UsageError } from "../errors.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";
import type { NodeCertificate } from "../org/certificate.ts";
import { PROBLEM_TEXT } from "../org/certificate_check.ts";
import { certificateProblemHere, readCertificateFile } from "../org/certificate_here.ts";
import { certificateName } from "../org/org_trust.ts";
import { evaluatePolicy, IP_PROTOCOL_TCP } from "../policy/policy_evaluator.ts";
import { loadPolicySet } from "../policy/policy_files.ts";
import { isDnsLabel } from "../trust/dns_label.ts";
import { listTrusted, type TrustedKey } from "../trust/trust_store.ts";
import type { CommandContext } from "./command_context.ts";

/** The TCP ports `service show` lists (the original's nine). */
export const SHOWN_PORTS = [22, 80, 443, 3306, 5432, 6379, 8080, 8443, 27017];

/** What `service show` was asked: the peer (positional or --peer) and how its org is known. */
export interface ServiceShowRequest {
  peer?: string;
  cert?: string;
  org?: string;
}

/** Prints the verdict for each shown port; see the module comment for the org level. */
export async function serviceShow(context: CommandContext, request: ServiceShowRequest) {
  if (request.cert !== undefined && request.org !== undefined) {
    throw new UsageError("give --cert or --org, not both", "service");
  }
  const configDir = context.configDir();
  const { set } = await loadPolicySet(configDir);
  const cert = request.cert === undefined
    ? null
    : await admittingCertificate(configDir, request.cert);
  const label = request.peer ?? (cert === null ? undefined : certificateName(cert).fqdn);
  const peerKey = request.peer !== undefined
    ? await peerKeyOf(configDir, request.peer, cert)
    : cert?.nodeKey;
  let who = label === undefined ? "any peer without its own policy" : `peer ${label}`;
  if (cert !== null && peerKey !== undefined && !constantTimeEqual(peerKey, cert.nodeKey)) {
    throw new MeshguardError(
      `${request.cert} is the certificate of node ${encodeBase64(cert.nodeKey)}, not of ${who}`,
    );
  }
  const orgs = (await listTrusted(configDir, "org")).entries;
  const org = cert !== null
    ? orgs.find((entry) => constantTimeEqual(entry.publicKey, cert.orgKey))
    : request.org === undefined
    ? undefined
    : trustedOrg(orgs, request.org);
  const peerText = peerKey === undefined ? undefined : encodeBase64(peerKey);
  const orgText = org === undefined ? undefined : encodeBase64(org.publicKey);
  if (org !== undefined) who += ` (member of org ${org.name})`;
  const order = [
    peerText === undefined ? undefined : set.peers.get(peerText)?.name,
    orgText === undefined ? undefined : set.orgs.get(orgText)?.name,
    set.global?.name,
  ].filter((name) => name !== undefined);
  let text = `What ${who} may reach on this node (default ${set.defaultAction}):\n`;
  text += `  order: ${[...order, "default"].join(" → ")}\n`;
  for (const port of SHOWN_PORTS) {
    const verdict = evaluatePolicy(set, peerText, orgText, IP_PROTOCOL_TCP, port);
    text += `  tcp ${String(port).padEnd(6)} ${verdict.action.padEnd(6)} ${
      verdict.rule?.source ?? "default"
    }\n`;
  }
  text += "  icmp       allow  (always)\n";
  context.io.stdout(text);
  if (peerKey !== undefined && org === undefined && set.orgs.size > 0) {
    context.io.stderr(
      `note: org policies are not included: which org admits ${label} is known only ` +
        "from its certificate (give --cert FILE, or --org NAME for what a member would get)\n",
    );
  }
  return 0;
}

/** The certificate at `path`, when it admits its node here (the daemon applies no org file otherwise). */
async function admittingCertificate(configDir: string, path: string): Promise<NodeCertificate> {
  const cert = await readCertificateFile(path);
  const problem = await certificateProblemHere(configDir, cert);
  if (problem !== null) {
    throw new MeshguardError(
      `${path} does not admit its node here (${PROBLEM_TEXT[problem]}), so no org policy applies`,
    );
  }
  return cert;
}

/** A peer named by its authorized_keys name, its certificate's name or fqdn, or its key. */
async function peerKeyOf(
  configDir: string,
  name: string,
  cert: NodeCertificate | null,
): Promise<Uint8Array> {
  if (cert !== null && (name === cert.name || name === certificateName(cert).fqdn)) {
    return cert.nodeKey;
  }
  if (!isDnsLabel(name)) return parseEd25519PublicKey(name, "peer key");
  const trusted = await listTrusted(configDir, "peer");
  const entry = trusted.entries.find((candidate) => candidate.name === name);
  if (entry === undefined) {
    throw new MeshguardError(
      `no trusted peer is named '${name}' (see 'config show'; for a member admitted by ` +
        "certificate give --cert FILE)",
    );
  }
  return entry.publicKey;
}

/** The trusted org named `name` (trusted_orgs/ name or base64 key); org files key on these. */
function trustedOrg(orgs: TrustedKey[], name: string): TrustedKey {
  const key = isDnsLabel(name) ? null : parseEd25519PublicKey(name, "org key");
  const entry = orgs.find((candidate) =>
    key === null ? candidate.name === name : constantTimeEqual(candidate.publicKey, key)
  );
  if (entry === undefined) {
    throw new MeshguardError(
      `no org in trusted_orgs/ is ${key === null ? "named " : ""}'${name}' (see 'config show')`,
    );
  }
  return entry;
}
