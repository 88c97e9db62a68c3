/** `meshguard keygen`: create this node's identity. */

import { encodeBase64 } from "../encoding/base64.ts";
import { generateIdentity, wipeIdentity } from "../identity/identity.ts";
import { IdentityExistsError, saveIdentity } from "../identity/identity_store.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { UsageError } from "../errors.ts";

/** Runs `keygen [--force]`; prints the new public key on stdout. */
export async function keygenCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("keygen", args, {
    force: { type: "boolean" },
  });
  if (positionals.length > 0) throw new UsageError("keygen takes no arguments", "keygen");
  const { io } = context;
  const configDir = context.configDir();
  const identity = await generateIdentity();
  try {
    await saveIdentity(configDir, identity, { force: values.force ?? false });
  } catch (error) {
    wipeIdentity(identity);
    if (error instanceof IdentityExistsError && error.existingPublicKey) {
      io.stderr(`existing public key: ${encodeBase64(error.existingPublicKey)}\n`);
    }
    throw error;
  }
  io.stderr(`Identity generated in ${configDir} (identity.key, identity.pub).\n`);
  io.stderr(
    `mesh IPv4 ${meshIpv4(identity.publicKey)}, mesh IPv6 ${meshIpv6(identity.publicKey)}\n`,
  );
  io.stdout(`${encodeBase64(identity.publicKey)}\n`);
  wipeIdentity(identity);
  return 0;
}
