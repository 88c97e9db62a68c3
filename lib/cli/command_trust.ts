/** `meshguard trust`: trust a peer's (or an org's) public key. */

import { decodeBase64Strict, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { TrustError, UsageError } from "../errors.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { settleTrustedKeys } from "../daemon/ipv4_claims.ts";
import {
  IPV4_HOLDERS_FILE,
  IPV4_PINS_FILE,
  readClaims,
  writeClaims,
} from "../daemon/ipv4_claims_store.ts";
import { describeConflict } from "../control/ipv4_conflict_text.ts";
import { join } from "node:path";
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

/** Runs `trust <key|file> [--name N] [--org] [--yes] [--ipv4-owner]`. */
export async function trustCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("trust", args, {
    name: { type: "string" },
    org: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    "ipv4-owner": { type: "boolean" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("trust needs exactly one key or key file", "trust");
  }
  const { io } = context;
  const kind: TrustKind = values.org ? "org" : "peer";
  const ipv4Owner = values["ipv4-owner"] ?? false;
  if (ipv4Owner && kind === "org") {
    throw new UsageError("--ipv4-owner is for a peer key, not with --org", "trust");
  }
  const configDir = context.configDir();
  const { publicKey, fileStem } = await resolveKeyArgument(positionals[0]);
  const ownKey = await readOwnPublicKey(configDir);
  if (ownKey !== null && constantTimeEqual(ownKey, publicKey)) {
    throw new TrustError("that is this node's own public key; trust other nodes' keys");
  }
  if (ipv4Owner && ownKey !== null && meshIpv4(ownKey) === meshIpv4(publicKey)) {
    throw new TrustError(
      `mesh IPv4 ${
        meshIpv4(publicKey)
      } is this node's own address and stays its own; that key is reachable over its IPv6 ` +
        `${meshIpv6(publicKey)}; nothing changed`,
    );
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
  if (kind === "peer") {
    if (ipv4Owner) await pinIpv4(context, configDir, publicKey);
    await reportCollision(context, configDir, publicKey, ownKey);
  }
  return 0;
}

/** Gives `publicKey` its mesh IPv4 on this node: a line in `ipv4_pins`. */
async function pinIpv4(
  context: CommandContext,
  configDir: string,
  publicKey: Uint8Array,
): Promise<void> {
  const address = meshIpv4(publicKey);
  const pins = await readClaims(configDir, IPV4_PINS_FILE);
  pins.entries.set(address, encodeHex(publicKey));
  await writeClaims(configDir, IPV4_PINS_FILE, pins.entries);
  context.io.stderr(
    `Pinned mesh IPv4 ${address} to this key in ${
      join(configDir, IPV4_PINS_FILE)
    } (a running daemon applies it at once; delete the line to undo).\n`,
  );
}

/**
 * States exactly where the new key's mesh IPv4 goes on this node when another key (or this
 * node) derives it too, and records the established holder so the daemon keeps it.
 */
async function reportCollision(
  context: CommandContext,
  configDir: string,
  publicKey: Uint8Array,
  ownKey: Uint8Array | null,
): Promise<void> {
  const address = meshIpv4(publicKey);
  const id = encodeHex(publicKey);
  const { entries } = await listTrusted(configDir, "peer");
  const sharing = entries.filter((entry) => meshIpv4(entry.publicKey) === address);
  if (sharing.length < 2 && !(ownKey !== null && meshIpv4(ownKey) === address)) return;
  const records = await readClaims(configDir, IPV4_HOLDERS_FILE);
  const pins = await readClaims(configDir, IPV4_PINS_FILE);
  // The key just trusted arrives after the ones already trusted: it displaces none of them.
  const claimants = sharing.map((entry) => ({
    name: entry.name,
    publicKey: entry.publicKey,
    seq: constantTimeEqual(entry.publicKey, publicKey) ? 1 : 0,
  }));
  const [conflict] = settleTrustedKeys(ownKey, claimants, records.entries, pins.entries);
  if (conflict === undefined) return;
  const holderId = conflict.holder === null
    ? null
    : encodeHex(decodeBase64Strict(conflict.holder.public_key));
  if (conflict.reason === "first-seen" && holderId !== null && !records.entries.has(address)) {
    records.entries.set(address, holderId);
    await writeClaims(configDir, IPV4_HOLDERS_FILE, records.entries);
  }
  let text = `${describeConflict(conflict)}.`;
  if (conflict.reason !== "own-address" && holderId !== id) {
    text += ` For this key: meshguard trust ${encodeBase64(publicKey)} --ipv4-owner`;
  }
  context.io.stderr(`warning: ${text}\n`);
}
