/**
 * `org-sign`: the org (or an issuer holding the org's delegation grant) signs a node's
 * certificate: v1 (186 bytes) or, with `--wg-pubkey` or `--grant`, v2 (314 bytes).
 */

import { join } from "node:path";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { PUBLIC_FILE_MODE } from "../config/layout.ts";
import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { IdentityError, UsageError } from "../errors.ts";
import { type Identity, wipeIdentity } from "../identity/identity.ts";
import { loadIdentity } from "../identity/identity_store.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import {
  type NodeCertificate,
  signCertificate,
  signDelegatedCertificate,
} from "../org/certificate.ts";
import { decodeGrant } from "../org/delegation.ts";
import { formatUnix, parseExpiry } from "../org/expiry.ts";
import { OrgFormatError } from "../org/org_errors.ts";
import { requireOrgKey } from "../org/org_key_store.ts";
import { certificateName } from "../org/org_trust.ts";
import type { CommandContext } from "./command_context.ts";
import { resolveKeyArgument } from "./key_argument.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { isAllZero } from "../org/le_int.ts";

/** Reads `--wg-pubkey`: base64 or a file holding it; refuses all-zero and non-derived keys. */
async function readWgKey(text: string, node: Uint8Array): Promise<Uint8Array> {
  let value = text.trim();
  const info = await Deno.stat(value).catch(() => null);
  if (info?.isFile) {
    if (info.size > 4096) throw new OrgFormatError(`${value} is too large to be a key file`);
    value = (await Deno.readTextFile(value)).trim().split("\n")[0].trim();
  }
  let key: Uint8Array;
  try {
    key = decodeBase64Strict(value, "--wg-pubkey");
  } catch {
    throw new OrgFormatError(`--wg-pubkey '${text}' is neither base64 nor a key file`);
  }
  if (key.length !== 32) throw new OrgFormatError(`--wg-pubkey is ${key.length} bytes, not 32`);
  if (isAllZero(key)) throw new OrgFormatError("--wg-pubkey is all zero");
  const derived = wireguardPublicKeyOf(node);
  if (!constantTimeEqual(key, derived)) {
    throw new OrgFormatError(
      `--wg-pubkey is not the key derived from the node key (expected ${encodeBase64(derived)})`,
    );
  }
  return key;
}

/** Runs `org-sign <node key|file> --name N [--expires W] [--wg-pubkey K] [--grant F] [--out F]`. */
export async function orgSignCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("org-sign", args, {
    name: { type: "string" },
    expires: { type: "string" },
    "wg-pubkey": { type: "string" },
    grant: { type: "string" },
    out: { type: "string" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("org-sign needs exactly one node key or key file", "org-sign");
  }
  if (values.name === undefined) throw new UsageError("org-sign needs --name", "org-sign");
  const node = (await resolveKeyArgument(positionals[0])).publicKey;
  const now = Math.floor(Date.now() / 1000);
  const wgKey = values["wg-pubkey"] === undefined
    ? null
    : await readWgKey(values["wg-pubkey"], node);
  const configDir = context.configDir();
  let cert: NodeCertificate;
  if (values.grant !== undefined) {
    if (values.expires !== undefined) {
      throw new UsageError(
        "--expires with --grant: a delegated certificate ends with its grant",
        "org-sign",
      );
    }
    const info = await Deno.stat(values.grant).catch(() => null);
    if (!info?.isFile) throw new OrgFormatError(`--grant: no such file: ${values.grant}`);
    if (info.size > 1024) throw new OrgFormatError(`--grant ${values.grant} is too large`);
    const grant = decodeGrant(await Deno.readFile(values.grant));
    if (grant.expiresAt <= now) {
      throw new OrgFormatError(`the grant expired at ${formatUnix(grant.expiresAt)}`);
    }
    const issuer: Identity | null = await loadIdentity(configDir);
    if (issuer === null) {
      throw new IdentityError(`no identity in ${configDir} to sign as the issuer`);
    }
    try {
      if (!constantTimeEqual(issuer.publicKey, grant.issuerKey)) {
        throw new OrgFormatError(
          `the grant is for issuer ${encodeBase64(grant.issuerKey)}, not this identity (${
            encodeBase64(issuer.publicKey)
          })`,
        );
      }
      cert = signDelegatedCertificate(issuer.seed, grant, {
        nodeKey: node,
        name: values.name,
        issuedAt: now,
        wgKey: wgKey ?? wireguardPublicKeyOf(node),
      });
    } finally {
      wipeIdentity(issuer);
    }
  } else {
    const expiresAt = values.expires === undefined ? 0 : parseExpiry(values.expires, now);
    const org = await requireOrgKey(configDir);
    try {
      cert = signCertificate(org.seed, {
        nodeKey: node,
        name: values.name,
        issuedAt: now,
        expiresAt,
        wgKey,
      });
    } finally {
      wipeIdentity(org);
    }
  }
  const out = values.out ?? join(configDir, `${values.name}.cert`);
  await writeFileAtomic(out, cert.bytes, PUBLIC_FILE_MODE);
  const names = certificateName(cert);
  context.io.stderr(
    `Certificate v${cert.version}${cert.issuerKey ? " (delegated)" : ""} for ${names.fqdn}, ` +
      `expires ${formatUnix(cert.expiresAt)}.\n` +
      `Copy it to the node as <config dir>/node.cert (e.g. /etc/meshguard/node.cert).\n`,
  );
  context.io.stdout(`${out}\n`);
  return 0;
}
