/** `meshguard export`: print this node's public key. */

import { encodeBase64 } from "../encoding/base64.ts";
import { IdentityError, UsageError } from "../errors.ts";
import { wipeIdentity } from "../identity/identity.ts";
import { loadIdentity } from "../identity/identity_store.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs `export`: the public key and a newline on stdout, nothing else. */
export async function exportCommand(context: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parseCommandArguments("export", args, {});
  if (positionals.length > 0) throw new UsageError("export takes no arguments", "export");
  const configDir = context.configDir();
  const identity = await loadIdentity(configDir);
  if (identity === null) {
    throw new IdentityError(`no identity in ${configDir}; run 'meshguard keygen' first`);
  }
  context.io.stdout(`${encodeBase64(identity.publicKey)}\n`);
  wipeIdentity(identity);
  return 0;
}
