/** `meshguard revoke`: stop trusting a peer or an org. */

import { UsageError } from "../errors.ts";
import { removeTrusted, type TrustKind } from "../trust/trust_store.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs `revoke <name|key> [--org]`. */
export async function revokeCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("revoke", args, {
    org: { type: "boolean" },
  });
  if (positionals.length !== 1) {
    throw new UsageError("revoke needs exactly one name or key", "revoke");
  }
  const kind: TrustKind = values.org ? "org" : "peer";
  const removed = await removeTrusted(context.configDir(), kind, positionals[0]);
  const noun = kind === "org" ? "Org" : "Peer";
  for (const entry of removed) context.io.stderr(`${noun} '${entry.name}' revoked.\n`);
  return 0;
}
