/** `meshguard trust`: trust a peer's (or an org's) public key. */

import { encodeBase64, encodeHex } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { TrustError, UsageError } from "../errors.ts";
import { meshIpv4 } from "../identity/mesh_address.ts";
import { orgDomain } from "../identity/org_domain.ts";
import { assertDnsLabel } from "../trust/dns_label.ts";
import { addTrusted, listTrusted, type TrustKind } from "../trust/trust_store.ts";
import type { CliIo } from "./cli_io.ts";
import type { CommandContext } from "./command_context.ts";
import { resolveKeyArgument } from "./key_argument.ts";
import { readOwnPublicKey } from "./own_public_key.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

function chooseName(
  kind: TrustKind,
  publicKey: Uint8Array,
  explicitName: string | undefined,
  fileStem: string | null,
): { name: string; explicit: boolean } {
  if (explicitName !== undefined) {
    assertDnsLabel(explicitName, kind === "org" ? "org name" : "peer name");
    return { name: explicitName, explicit: true };
  }
  if (kind === "org") return { name: orgDomain(publicKey), explicit: false };
  if (fileStem !== null) {
    const stem = fileStem.toLowerCase();
    assertDnsLabel(stem, `name taken from the file name (pass --name to choose another)`);
    return { name: stem, explicit: true };
  }
  return { name: `peer-${encodeHex(publicKey.subarray(0, 4))}`, explicit: false };
}

function confirmer(io: CliIo, yes: boolean): (question: string) => Promise<boolean> {
  return async (question) => {
    if (yes) return true;
    if (!io.stdinIsTerminal()) {
      throw new TrustError(`${question} Re-run with --yes to replace it; nothing changed`);
    }
    io.stderr(`${question} [y/N] `);
    const answer = (await io.readLine())?.trim().toLowerCase();
    return answer === "y" || answer === "yes";
  };
}

/** Runs `trust <key|file> [--name N] [--org] [--yes]`. */
export async function trustCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("trust", args, {
    name: { type: "string" },
    org: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("trust needs exactly one key or key file", "trust");
  }
  const { io } = context;
  const kind: TrustKind = values.org ? "org" : "peer";
  const configDir = context.configDir();
  const { publicKey, fileStem } = await resolveKeyArgument(positionals[0]);
  const ownKey = await readOwnPublicKey(configDir);
  if (ownKey !== null && constantTimeEqual(ownKey, publicKey)) {
    throw new TrustError("that is this node's own public key; trust other nodes' keys");
  }
  const { name, explicit } = chooseName(kind, publicKey, values.name, fileStem);
  const outcome = await addTrusted(configDir, {
    kind,
    publicKey,
    name,
    nameIsExplicit: explicit,
    confirmReplace: confirmer(io, values.yes ?? false),
  });
  const noun = kind === "org" ? "Org" : "Peer";
  const detail = kind === "org"
    ? `domain: ${orgDomain(publicKey)}.mesh`
    : `mesh IPv4 ${meshIpv4(publicKey)}`;
  switch (outcome.action) {
    case "added":
      io.stderr(`${noun} '${outcome.name}' trusted (${detail}).\n`);
      break;
    case "already-trusted":
      io.stderr(`${noun} '${outcome.name}' is already trusted.\n`);
      break;
    case "renamed":
      io.stderr(`${noun} renamed from '${outcome.from}' to '${outcome.to}'.\n`);
      break;
    case "replaced": {
      const previous = outcome.previousKey ? ` (was ${encodeBase64(outcome.previousKey)})` : "";
      io.stderr(`${noun} '${outcome.name}' now trusts ${encodeBase64(publicKey)}${previous}.\n`);
      break;
    }
  }
  if (kind === "peer") await warnAboutCollisions(context, configDir, publicKey, ownKey);
  return 0;
}

async function warnAboutCollisions(
  context: CommandContext,
  configDir: string,
  publicKey: Uint8Array,
  ownKey: Uint8Array | null,
): Promise<void> {
  const address = meshIpv4(publicKey);
  const { entries } = await listTrusted(configDir, "peer");
  const sharing = entries
    .filter((entry) => !constantTimeEqual(entry.publicKey, publicKey))
    .filter((entry) => meshIpv4(entry.publicKey) === address)
    .map((entry) => `'${entry.name}'`);
  if (ownKey !== null && meshIpv4(ownKey) === address) sharing.push("this node");
  if (sharing.length === 0) return;
  context.io.stderr(
    `warning: mesh IPv4 ${address} is also the address of ${
      sharing.join(", ")
    }; only one of them can use it (IPv6 addresses stay distinct)\n`,
  );
}
