/**
 * The daemon's org files: `trusted_orgs/`, `revoked/`, `vouched/` and `node.cert`, read at
 * start and on every change (like `authorized_keys/`), and decisions heard by gossip written
 * back so they survive a restart.
 */

import { join } from "node:path";
import { TRUSTED_ORGS_DIR } from "../config/layout.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { encodeBase64 } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { MeshguardError } from "../errors.ts";
import type { Identity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import { listTrusted } from "../trust/trust_store.ts";
import type { NodeCertificate } from "../org/certificate.ts";
import { loadNodeCertificate, loadOrgControls, saveOrgControl } from "../org/org_files.ts";
import { NODE_CERT_FILE, REVOKED_DIR, VOUCHED_DIR } from "../org/org_layout.ts";
import type { OrgControl } from "../org/org_messages.ts";
import { certificateName } from "../org/org_trust.ts";
import { formatUnix } from "../org/expiry.ts";

/** What the org files say. */
export interface OrgFiles {
  orgKeys: Uint8Array[];
  controls: OrgControl[];
  /** Our certificate, or null (none, or it is not ours: logged). */
  certificate: NodeCertificate | null;
}

/** Folders the daemon watches for org changes (created when missing). */
export async function orgFolders(configDir: string): Promise<string[]> {
  const folders = [TRUSTED_ORGS_DIR, REVOKED_DIR, VOUCHED_DIR].map((name) => join(configDir, name));
  for (const folder of folders) await ensureDirectory(folder);
  return folders;
}

/** True when a changed path is one of the org files in the config directory itself. */
export function isOrgFileName(name: string): boolean {
  return name === NODE_CERT_FILE;
}

/** Reads the org files; problems are logged, an unsafe folder throws (trust stays as it was). */
export async function readOrgFiles(
  configDir: string,
  identity: Identity,
  log: Logger,
): Promise<OrgFiles> {
  const orgs = await listTrusted(configDir, "org");
  for (const problem of orgs.problems) {
    log.warn(`trusted orgs: ${problem.path}: ${problem.message}`);
  }
  const { controls, problems } = await loadOrgControls(configDir);
  for (const problem of problems) log.warn(`org decisions: ${problem.path}: ${problem.message}`);
  let certificate: NodeCertificate | null = null;
  try {
    certificate = await loadNodeCertificate(configDir);
  } catch (error) {
    if (!(error instanceof MeshguardError)) throw error;
    log.error(`${error.message}; carrying no certificate`);
  }
  if (certificate !== null && !constantTimeEqual(certificate.nodeKey, identity.publicKey)) {
    log.error(
      `${NODE_CERT_FILE} is for node ${encodeBase64(certificate.nodeKey)}, not this node (${
        encodeBase64(identity.publicKey)
      }); carrying no certificate`,
    );
    certificate = null;
  }
  if (
    certificate !== null && certificate.expiresAt !== 0 &&
    certificate.expiresAt <= Date.now() / 1000
  ) {
    log.warn(
      `${NODE_CERT_FILE} expired at ${
        formatUnix(certificate.expiresAt)
      }: members refuse this node until it gets a new one`,
    );
  }
  if (certificate !== null) {
    const name = certificateName(certificate);
    log.info(
      `org certificate: ${name.fqdn} (v${certificate.version}, expires ${
        formatUnix(certificate.expiresAt)
      })`,
    );
  }
  return { orgKeys: orgs.entries.map((entry) => entry.publicKey), controls, certificate };
}

/** Writes a decision heard by gossip into `revoked/` or `vouched/`; failures are logged. */
export async function persistHeardControl(
  configDir: string,
  message: OrgControl,
  log: Logger,
): Promise<void> {
  try {
    await saveOrgControl(configDir, message, true);
  } catch (error) {
    log.error(`could not save an org ${message.kind}: ${(error as Error).message}`);
  }
}
