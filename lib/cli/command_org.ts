/**
 * The org admin's commands: `org-keygen`, `org-delegate` (a grant for an issuer), `org-vouch`
 * and `org-revoke` (signed decisions written into `vouched/` and `revoked/`, which a running
 * daemon on this machine picks up and gossips).
 */

import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { encodeBase64, encodeHex } from "../encoding/base64.ts";
import { IdentityError, UsageError } from "../errors.ts";
import { generateIdentity, wipeIdentity } from "../identity/identity.ts";
import { orgDomain } from "../identity/org_domain.ts";
import { encodeGrant, signGrant } from "../org/delegation.ts";
import { formatUnix, parseExpiry } from "../org/expiry.ts";
import { OrgFormatError } from "../org/org_errors.ts";
import { loadOrgKey, orgKeyPath, requireOrgKey, saveOrgKey } from "../org/org_key_store.ts";
import { GRANTS_DIR } from "../org/org_layout.ts";
import { reasonName, RevokeReason, signOrgControl } from "../org/org_messages.ts";
import { saveOrgControl } from "../org/org_files.ts";
import type { CommandContext } from "./command_context.ts";
import { resolveKeyArgument } from "./key_argument.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs `org-keygen [--force]`: prints the org key on stdout and its domain on stderr. */
export async function orgKeygenCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("org-keygen", args, {
    force: { type: "boolean" },
  });
  if (positionals.length > 0) throw new UsageError("org-keygen takes no arguments", "org-keygen");
  const configDir = context.configDir();
  if (!values.force) {
    const existing = await loadOrgKey(configDir).catch(() => null);
    let present = existing !== null;
    if (!present) present = await Deno.lstat(orgKeyPath(configDir)).then(() => true, () => false);
    if (present) {
      const shown = existing ? ` (org key ${encodeBase64(existing.publicKey)})` : "";
      throw new IdentityError(
        `an org key already exists in ${
          orgKeyPath(configDir)
        }${shown}; use --force to replace it (every certificate it signed stops chaining)`,
      );
    }
  }
  const key = await generateIdentity();
  try {
    await saveOrgKey(configDir, key);
    const domain = orgDomain(key.publicKey);
    context.io.stderr(`Org key generated in ${join(configDir, "org")} (org.key 0600, org.pub).\n`);
    context.io.stderr(`Org domain: ${domain}.mesh\n`);
    context.io.stderr(
      `Nodes trust it with: meshguard trust --org ${encodeBase64(key.publicKey)}\n`,
    );
    context.io.stdout(`${encodeBase64(key.publicKey)}\n`);
  } finally {
    wipeIdentity(key);
  }
  return 0;
}

/** Runs `org-delegate <issuer key|file> --expires WHEN [--out FILE]`: a one-hop grant. */
export async function orgDelegateCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("org-delegate", args, {
    expires: { type: "string" },
    out: { type: "string" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("org-delegate needs exactly one issuer key or key file", "org-delegate");
  }
  if (values.expires === undefined) {
    throw new UsageError(
      "org-delegate needs --expires (a delegation cannot last forever)",
      "org-delegate",
    );
  }
  const issuer = (await resolveKeyArgument(positionals[0])).publicKey;
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = parseExpiry(values.expires, now);
  if (expiresAt === 0) throw new OrgFormatError("--expires never: a delegation needs an end date");
  const configDir = context.configDir();
  const org = await requireOrgKey(configDir);
  let bytes: Uint8Array;
  try {
    bytes = encodeGrant(signGrant(org.seed, issuer, expiresAt));
  } finally {
    wipeIdentity(org);
  }
  let out = values.out;
  if (out === undefined) {
    await ensureDirectory(join(configDir, GRANTS_DIR));
    out = join(configDir, GRANTS_DIR, `${encodeHex(issuer.subarray(0, 8))}.grant`);
  }
  await writeFileAtomic(out, bytes, PUBLIC_FILE_MODE);
  context.io.stderr(
    `Delegation granted to ${encodeBase64(issuer)} until ${formatUnix(expiresAt)}.\n` +
      `Give ${out} to the issuer; it signs with: meshguard org-sign <node key> --name N --grant <file>\n`,
  );
  context.io.stdout(`${out}\n`);
  return 0;
}

/** Runs `org-vouch <key|file>`: the org vouches for a node key (admitted without a certificate). */
export async function orgVouchCommand(context: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parseCommandArguments("org-vouch", args, {});
  if (positionals.length !== 1) {
    throw new UsageError("org-vouch needs exactly one node key or key file", "org-vouch");
  }
  const node = (await resolveKeyArgument(positionals[0])).publicKey;
  return await decide(context, "vouch", node, 0);
}

const REASONS: Record<string, number> = {
  "0": RevokeReason.Unspecified,
  unspecified: RevokeReason.Unspecified,
  "1": RevokeReason.KeyCompromised,
  "key-compromised": RevokeReason.KeyCompromised,
  key_compromised: RevokeReason.KeyCompromised,
  compromised: RevokeReason.KeyCompromised,
  "2": RevokeReason.AdminRemoved,
  "admin-removed": RevokeReason.AdminRemoved,
  admin_removed: RevokeReason.AdminRemoved,
  removed: RevokeReason.AdminRemoved,
};

/** Runs `org-revoke <key|file> [--reason R]`: the org revokes a node key (and its certificates). */
export async function orgRevokeCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("org-revoke", args, {
    reason: { type: "string" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("org-revoke needs exactly one node key or key file", "org-revoke");
  }
  const reason = REASONS[values.reason ?? "admin-removed"];
  if (reason === undefined) {
    throw new UsageError(
      `--reason '${values.reason}' is not unspecified, key-compromised or admin-removed`,
      "org-revoke",
    );
  }
  const node = (await resolveKeyArgument(positionals[0])).publicKey;
  return await decide(context, "revoke", node, reason);
}

async function decide(
  context: CommandContext,
  kind: "revoke" | "vouch",
  node: Uint8Array,
  reason: number,
): Promise<number> {
  const configDir = context.configDir();
  const org = await requireOrgKey(configDir);
  let path: string;
  try {
    // Lamport = unix seconds: a later decision about the same node wins everywhere.
    const message = signOrgControl(org.seed, kind, node, Math.floor(Date.now() / 1000), reason);
    path = await saveOrgControl(configDir, message, false);
  } finally {
    wipeIdentity(org);
  }
  const what = kind === "revoke" ? `Revoked (${reasonName(reason)})` : "Vouched for";
  context.io.stderr(
    `${what} ${
      encodeBase64(node)
    }.\nA daemon using this config dir gossips it now; otherwise copy ${path} into a member's ${
      kind === "revoke" ? "revoked" : "vouched"
    }/ folder.\n`,
  );
  context.io.stdout(`${path}\n`);
  return 0;
}
