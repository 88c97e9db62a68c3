/**
 * A read-only picture of a config directory: identity, derived addresses, trusted peers and
 * orgs, and what looks wrong. Builds nothing and creates nothing (`config show` uses it).
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";
import { wipeIdentity } from "../identity/identity.ts";
import { loadIdentity } from "../identity/identity_store.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { orgDomain } from "../identity/org_domain.ts";
import { isDelegated } from "../org/certificate.ts";
import { certificateProblem, PROBLEM_TEXT } from "../org/certificate_check.ts";
import { formatUnix } from "../org/expiry.ts";
import { loadNodeCertificate, loadOrgControls } from "../org/org_files.ts";
import { certificateName, OrgTrust } from "../org/org_trust.ts";
import { deriveWireguardPublicKey } from "../identity/wireguard_key.ts";
import { listTrusted } from "../trust/trust_store.ts";
import type { Ipv4ConflictReason } from "../control/control_protocol.ts";
import { describeConflict } from "../control/ipv4_conflict_text.ts";
import { settleTrustedKeys } from "../daemon/ipv4_claims.ts";
import { IPV4_HOLDERS_FILE, IPV4_PINS_FILE, readClaims } from "../daemon/ipv4_claims_store.ts";

/** Short form of a key for tables: its first 8 base64 characters. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return encodeBase64(publicKey).slice(0, 8);
}

/** This node, as `config show` reports it. */
export interface IdentityReport {
  public_key: string;
  wireguard_public_key: string;
  mesh_ipv4: string;
  mesh_ipv6: string;
}

/** One trusted peer. */
export interface PeerReport {
  name: string;
  public_key: string;
  fingerprint: string;
  mesh_ipv4: string;
  mesh_ipv6: string;
}

/** One trusted org. */
export interface OrgReport {
  name: string;
  public_key: string;
  fingerprint: string;
  domain: string;
}

/** A mesh IPv4 address claimed by more than one key, and where it goes on this node. */
export interface CollisionReport {
  mesh_ipv4: string;
  /** Names of the trusted peers at that address. */
  peers: string[];
  /** True when this node's own address is one of them. */
  includes_self: boolean;
  /** Name of the key that holds it here; null when this node does or nobody does yet. */
  holder: string | null;
  /** Why (as `status` says it): own-address, pinned, first-seen, holder-absent, undecided. */
  reason: Ipv4ConflictReason;
  /** Names of the trusted keys reachable over their mesh IPv6 only. */
  ipv6_only: string[];
}

/** This node's org certificate (`node.cert`). */
export interface OrgMembershipReport {
  /** `<name>.<org6>.mesh`. */
  fqdn: string;
  version: number;
  org_public_key: string;
  expires_at: string;
  delegated: boolean;
  /** Null when it admits this node on a node with this trust; else why not. */
  problem: string | null;
}

/** Everything `config show` prints; the JSON form is exactly this object. */
export interface ConfigReport {
  config_dir: string;
  config_dir_exists: boolean;
  identity: IdentityReport | null;
  /** Why the identity could not be loaded, when it exists but is unusable. */
  identity_error: string | null;
  trusted_peers: PeerReport[];
  trusted_orgs: OrgReport[];
  /** This node's `node.cert`, or null without one. */
  org_membership: OrgMembershipReport | null;
  /** Org decisions in `revoked/` and `vouched/` (files, any org). */
  org_decisions: { revoked: number; vouched: number };
  mesh_ipv4_collisions: CollisionReport[];
  /** Files in the trust store that are ignored, and why. */
  ignored_files: { path: string; reason: string }[];
  warnings: string[];
}

async function directoryExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Reads a config directory into a report. Only a missing permission throws. */
export async function buildConfigReport(configDir: string): Promise<ConfigReport> {
  const report: ConfigReport = {
    config_dir: configDir,
    config_dir_exists: await directoryExists(configDir),
    identity: null,
    identity_error: null,
    trusted_peers: [],
    trusted_orgs: [],
    org_membership: null,
    org_decisions: { revoked: 0, vouched: 0 },
    mesh_ipv4_collisions: [],
    ignored_files: [],
    warnings: [],
  };
  if (!report.config_dir_exists) return report;

  let ownKey: Uint8Array | null = null;
  try {
    const identity = await loadIdentity(configDir);
    if (identity !== null) {
      ownKey = identity.publicKey;
      report.identity = {
        public_key: encodeBase64(identity.publicKey),
        wireguard_public_key: encodeBase64(await deriveWireguardPublicKey(identity.seed)),
        mesh_ipv4: meshIpv4(identity.publicKey),
        mesh_ipv6: meshIpv6(identity.publicKey),
      };
      wipeIdentity(identity);
    }
  } catch (error) {
    if (!(error instanceof MeshguardError)) throw error;
    report.identity_error = error.message;
  }

  const peers = await listTrusted(configDir, "peer");
  const orgs = await listTrusted(configDir, "org");
  report.trusted_peers = peers.entries.map((entry) => ({
    name: entry.name,
    public_key: encodeBase64(entry.publicKey),
    fingerprint: keyFingerprint(entry.publicKey),
    mesh_ipv4: meshIpv4(entry.publicKey),
    mesh_ipv6: meshIpv6(entry.publicKey),
  }));
  report.trusted_orgs = orgs.entries.map((entry) => ({
    name: entry.name,
    public_key: encodeBase64(entry.publicKey),
    fingerprint: keyFingerprint(entry.publicKey),
    domain: orgDomain(entry.publicKey),
  }));
  await reportOrg(configDir, report, orgs.entries.map((entry) => entry.publicKey), ownKey);
  report.ignored_files = [...peers.problems, ...orgs.problems].map((problem) => ({
    path: problem.path,
    reason: problem.message,
  }));
  for (const ignored of report.ignored_files) {
    report.warnings.push(`${ignored.path}: ${ignored.reason}`);
  }

  // What the daemon would do at start-up: the recorded holders and the admin's pins decide.
  const holders = await readClaims(configDir, IPV4_HOLDERS_FILE);
  const pins = await readClaims(configDir, IPV4_PINS_FILE);
  for (const problem of [...holders.problems, ...pins.problems]) report.warnings.push(problem);
  const ownAddress = ownKey ? meshIpv4(ownKey) : null;
  for (const conflict of settleTrustedKeys(ownKey, peers.entries, holders.entries, pins.entries)) {
    const names = [conflict.holder, ...conflict.ipv6_only].flatMap((key) => key ? [key.name] : []);
    report.mesh_ipv4_collisions.push({
      mesh_ipv4: conflict.mesh_ipv4,
      peers: names.sort(),
      includes_self: conflict.mesh_ipv4 === ownAddress,
      holder: conflict.holder?.name ?? null,
      reason: conflict.reason,
      ipv6_only: conflict.ipv6_only.map((key) => key.name),
    });
    report.warnings.push(describeConflict(conflict));
  }
  if (report.identity === null && report.identity_error === null) {
    report.warnings.push(`no identity yet; run 'meshguard keygen'`);
  }
  return report;
}

/** `node.cert` and the org decisions on disk, as this node's trust sees them. */
async function reportOrg(
  configDir: string,
  report: ConfigReport,
  orgKeys: Uint8Array[],
  ownKey: Uint8Array | null,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const trust = new OrgTrust(() => now);
  trust.setTrustedOrgs(orgKeys);
  const { controls } = await loadOrgControls(configDir);
  for (const control of controls) {
    report.org_decisions[control.kind === "revoke" ? "revoked" : "vouched"]++;
    trust.applyControl(control);
  }
  let cert;
  try {
    cert = await loadNodeCertificate(configDir);
  } catch (error) {
    if (!(error instanceof MeshguardError)) throw error;
    report.warnings.push(error.message);
    return;
  }
  if (cert === null) return;
  const problem = certificateProblem(cert, {
    now,
    isTrustedOrg: (key) => trust.isTrustedOrg(key),
    isRevoked: (org, node) => trust.isRevoked(org, node),
  }, ownKey ?? undefined);
  report.org_membership = {
    fqdn: certificateName(cert).fqdn,
    version: cert.version,
    org_public_key: encodeBase64(cert.orgKey),
    expires_at: formatUnix(cert.expiresAt),
    delegated: isDelegated(cert),
    problem: problem === null ? null : PROBLEM_TEXT[problem],
  };
  if (problem !== null) report.warnings.push(`node.cert: ${PROBLEM_TEXT[problem]}`);
}
