/**
 * The `services/` folder of the config directory, as the original meshguard lays it out:
 * `default`, `global.policy`, `peer/<name-or-key>.policy`, `org/<name-or-key>.policy`. A peer
 * file is named by its `authorized_keys/` name or by the peer's key (base64; URL-safe base64,
 * whose `_` stands for `/`, since a file name cannot hold `/`); an org file likewise through
 * `trusted_orgs/`. Loading is all or nothing: any bad file makes `loadPolicySet` throw a
 * PolicyError naming every problem, so the caller keeps what it had. Files another user could
 * change are refused (StrictModes, as for trust).
 */

import { join } from "node:path";
import { isTemporaryName, writeFileAtomic } from "../config/atomic_write.ts";
import { ensureDirectory, statIfPresent } from "../config/config_dir.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { currentUid } from "../config/strict_modes.ts";
import { encodeBase64 } from "../encoding/base64.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";
import { isDnsLabel } from "../trust/dns_label.ts";
import { assertTrustPathSafe } from "../trust/trust_permissions.ts";
import { listTrusted, type TrustKind } from "../trust/trust_store.ts";
import { parseDefaultText, parsePolicyText, PolicyError } from "./policy_parser.ts";
import {
  emptyPolicySet,
  formatRule,
  POLICY_LIMITS,
  type PolicyAction,
  type PolicyFile,
  type PolicyRule,
  type PolicySet,
} from "./policy_rules.ts";

/** The folder name inside the config directory. */
export const SERVICES_DIR = "services";
/** Which policy file a CLI edit targets. */
export type PolicyTarget =
  | { kind: "global" }
  | { kind: "peer"; name: string }
  | { kind: "org"; name: string };

/** `<configDir>/services`. */
export function servicesFolder(configDir: string): string {
  return join(configDir, SERVICES_DIR);
}

/** The path under `services/` of a target's file (`peer/db.policy`). */
export function policyFileName(target: PolicyTarget): string {
  if (target.kind === "global") return "global.policy";
  return `${target.kind}/${target.name}.policy`;
}

/** A file stem naming a peer or org: a trust-store name, or a (URL-safe) base64 key. */
export function checkPolicyStem(stem: string, what: string): void {
  if (isDnsLabel(stem)) return;
  keyOfStem(stem, what);
}

/** The key a stem spells, or throws PolicyError. */
function keyOfStem(stem: string, what: string): Uint8Array {
  try {
    return parseEd25519PublicKey(stem.replaceAll("_", "/").replaceAll("-", "+"), what);
  } catch (error) {
    throw new PolicyError(
      `${what}: '${stem}' is neither a name ([a-z0-9-], 1-63) nor a base64 public key (${
        (error as Error).message
      })`,
    );
  }
}

async function readSmall(
  path: string,
  name: string,
  ownUid: number | null,
): Promise<string | null> {
  await assertTrustPathSafe(path, ownUid);
  const info = await statIfPresent(path);
  if (info === null) return null;
  if (!info.isFile) throw new PolicyError(`${name}: not a regular file`);
  if (info.size > POLICY_LIMITS.fileBytes) {
    throw new PolicyError(
      `${name}: ${info.size} bytes, more than the ${POLICY_LIMITS.fileBytes} a policy file may have`,
    );
  }
  return await Deno.readTextFile(path);
}

async function policyNames(folder: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.name.endsWith(".policy") && !isTemporaryName(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}

/** What `loadPolicySet` found besides the set: files it could not tie to a trusted key. */
export interface PolicyLoad {
  set: PolicySet;
  /** Warnings (a peer file whose name is not trusted yet); nothing here is enforced. */
  unresolved: string[];
  /** The files those warnings are about (valid, waiting for their name to be trusted). */
  pending: PolicyFile[];
  /** Files loaded, for the log. */
  files: number;
}

/**
 * Reads `services/`. Throws PolicyError (every problem, `file:line`) when any file is bad, or
 * TrustPermissionError when another user could change one; a missing folder means allow all.
 */
export async function loadPolicySet(configDir: string): Promise<PolicyLoad> {
  const folder = servicesFolder(configDir);
  const ownUid = currentUid();
  await assertTrustPathSafe(folder, ownUid);
  const set = emptyPolicySet();
  const problems: string[] = [];
  const unresolved: string[] = [];
  const pending: PolicyFile[] = [];
  let files = 0;
  const attempt = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      problems.push(error.message);
    }
  };
  await attempt(async () => {
    const text = await readSmall(join(folder, "default"), "default", ownUid);
    if (text !== null) {
      set.defaultAction = parseDefaultText(text);
      files++;
    }
  });
  await attempt(async () => {
    const text = await readSmall(join(folder, "global.policy"), "global.policy", ownUid);
    if (text !== null) {
      set.global = { name: "global.policy", rules: parsePolicyText(text, "global.policy") };
      files++;
    }
  });
  for (const kind of ["peer", "org"] as const) {
    const sub = join(folder, kind);
    await assertTrustPathSafe(sub, ownUid);
    const names = await policyNames(sub);
    const limit = kind === "peer" ? POLICY_LIMITS.peerFiles : POLICY_LIMITS.orgFiles;
    if (names.length > limit) {
      problems.push(`${kind}/: ${names.length} policy files, more than the ${limit} allowed`);
      continue;
    }
    const trusted = names.length === 0 ? null : await listTrusted(configDir, kind as TrustKind);
    const target = kind === "peer" ? set.peers : set.orgs;
    for (const fileName of names) {
      const name = `${kind}/${fileName}`;
      await attempt(async () => {
        const stem = fileName.slice(0, -".policy".length);
        const text = await readSmall(join(sub, fileName), name, ownUid);
        if (text === null) return;
        const rules = parsePolicyText(text, name);
        let key: string;
        if (isDnsLabel(stem)) {
          const entry = trusted?.entries.find((candidate) => candidate.name === stem);
          if (entry === undefined) {
            unresolved.push(
              `${name}: no ${
                kind === "peer" ? "authorized_keys" : "trusted_orgs"
              } entry '${stem}'; not applied until one exists`,
            );
            pending.push({ name, rules });
            return;
          }
          key = encodeBase64(entry.publicKey);
        } else {
          key = encodeBase64(keyOfStem(stem, name));
        }
        if (target.has(key)) {
          throw new PolicyError(`${name}: a second policy file for the same ${kind}`);
        }
        target.set(key, { name, rules });
        files++;
      });
    }
  }
  if (problems.length > 0) throw new PolicyError(problems.join("; "));
  return { set, unresolved, pending, files };
}

/** Reads the rules of one target's file (empty when it does not exist). */
export async function readPolicyRules(
  configDir: string,
  target: PolicyTarget,
): Promise<PolicyRule[]> {
  const name = policyFileName(target);
  const text = await readSmall(join(servicesFolder(configDir), name), name, currentUid());
  return text === null ? [] : parsePolicyText(text, name);
}

/**
 * Appends `rule` (`allow tcp 22`) to a target's file, atomically; refuses (PolicyError) when
 * the file would break a limit, so what is on disk always loads.
 */
export async function appendPolicyRule(
  configDir: string,
  target: PolicyTarget,
  rule: Omit<PolicyRule, "source">,
): Promise<string> {
  if (target.kind !== "global") checkPolicyStem(target.name, `--${target.kind}`);
  const name = policyFileName(target);
  const folder = servicesFolder(configDir);
  const path = join(folder, name);
  const before = await readSmall(path, name, currentUid()) ?? "";
  const text = `${before}${before === "" || before.endsWith("\n") ? "" : "\n"}${
    formatRule(rule)
  }\n`;
  parsePolicyText(text, name); // the limits, before anything is written
  await ensureDirectory(folder);
  if (target.kind !== "global") await ensureDirectory(join(folder, target.kind));
  await writeFileAtomic(path, text, PUBLIC_FILE_MODE);
  return name;
}

/** Writes `services/default`. */
export async function writeDefaultAction(configDir: string, action: PolicyAction): Promise<void> {
  const folder = servicesFolder(configDir);
  await ensureDirectory(folder);
  await writeFileAtomic(join(folder, "default"), `${action}\n`, PUBLIC_FILE_MODE);
}

/** Removes every policy file (default, global, peer and org files); returns how many. */
export async function resetPolicies(configDir: string): Promise<number> {
  const folder = servicesFolder(configDir);
  let removed = 0;
  const remove = async (path: string) => {
    try {
      await Deno.remove(path);
      removed++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  };
  await remove(join(folder, "default"));
  await remove(join(folder, "global.policy"));
  for (const kind of ["peer", "org"]) {
    for (const name of await policyNames(join(folder, kind))) {
      await remove(join(folder, kind, name));
    }
  }
  return removed;
}
