/**
 * The org files a node reads and keeps: `node.cert`, `revoked/` and `vouched/`. Files that
 * are not valid are reported, never fatal; a received decision is persisted under
 * `<org6>-<hex16>.revoke|vouch`, so every node keeps what it heard across restarts.
 */

import { join } from "node:path";
import { isTemporaryName, writeFileAtomic } from "../config/atomic_write.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { currentUid } from "../config/strict_modes.ts";
import { encodeHex } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";
import { orgDomain } from "../identity/org_domain.ts";
import { assertTrustPathSafe } from "../trust/trust_permissions.ts";
import { CERT_V2_BYTES, decodeCertificate, type NodeCertificate } from "./certificate.ts";
import { decodeOrgControlFile, type OrgControl, vouchFileBytes } from "./org_messages.ts";
import { MAX_CONTROL_FILES, NODE_CERT_FILE, REVOKED_DIR, VOUCHED_DIR } from "./org_layout.ts";

/** A file that was ignored, and why. */
export interface OrgFileProblem {
  path: string;
  message: string;
}

/** Reads a small binary file of at most `max` bytes (a larger one is refused unread). */
async function readSmall(path: string, max: number): Promise<Uint8Array> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new MeshguardError("not a regular file");
  if (info.size > max) throw new MeshguardError(`${info.size} bytes is too large`);
  return await Deno.readFile(path);
}

/** `node.cert`, or null when absent; throws a one-line error when it is there but invalid. */
export async function loadNodeCertificate(configDir: string): Promise<NodeCertificate | null> {
  const path = join(configDir, NODE_CERT_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await readSmall(path, CERT_V2_BYTES);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    if (error instanceof MeshguardError) throw new MeshguardError(`${path}: ${error.message}`);
    throw error;
  }
  try {
    return decodeCertificate(bytes);
  } catch (error) {
    throw new MeshguardError(`${path}: ${(error as Error).message}`);
  }
}

/** The decisions in `revoked/` and `vouched/`, plus the files that were ignored. */
export async function loadOrgControls(
  configDir: string,
): Promise<{ controls: OrgControl[]; problems: OrgFileProblem[] }> {
  const controls: OrgControl[] = [];
  const problems: OrgFileProblem[] = [];
  const uid = currentUid();
  for (const [folderName, kind] of [[REVOKED_DIR, "revoke"], [VOUCHED_DIR, "vouch"]] as const) {
    const folder = join(configDir, folderName);
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(folder)) {
        if (entry.name.endsWith("." + kind) && !isTemporaryName(entry.name)) names.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    // Adding trust: nobody else may have written these (as authorized_keys/).
    await assertTrustPathSafe(folder, uid);
    names.sort();
    for (const name of names.slice(0, MAX_CONTROL_FILES)) {
      const path = join(folder, name);
      try {
        await assertTrustPathSafe(path, uid);
        controls.push(decodeOrgControlFile(await readSmall(path, 138), kind));
      } catch (error) {
        problems.push({ path, message: `ignored: ${(error as Error).message}` });
      }
    }
  }
  return { controls, problems };
}

/** The file name the CLI gives a decision: `<first 8 bytes of the node key, hex>.<kind>`. */
export function controlFileName(message: OrgControl): string {
  return `${encodeHex(message.nodeKey.subarray(0, 8))}.${message.kind}`;
}

/** Writes a decision into `revoked/` or `vouched/`; `received` names it by org too. */
export async function saveOrgControl(
  configDir: string,
  message: OrgControl,
  received: boolean,
): Promise<string> {
  const folder = join(configDir, message.kind === "revoke" ? REVOKED_DIR : VOUCHED_DIR);
  await ensureDirectory(folder);
  const name = (received ? `${orgDomain(message.orgKey)}-` : "") + controlFileName(message);
  const path = join(folder, name);
  const bytes = message.kind === "revoke" ? message.bytes : vouchFileBytes(message);
  await writeFileAtomic(path, bytes, PUBLIC_FILE_MODE);
  return path;
}
