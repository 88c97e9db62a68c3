/**
 * `meshguard netcheck`: asks the running daemon to ask its STUN servers again from the mesh
 * port and prints what they saw. Only the daemon can: the mapping that matters is the mesh
 * socket's (a NAT whose mapping varies by destination gives another socket another port), so
 * without a daemon there is nothing to check and it says so.
 */

import {
  ControlRefusedError,
  DaemonNotRunningError,
  sendControlRequest,
} from "../control/control_client.ts";
import { ControlError } from "../control/control_protocol.ts";
import { formatNetcheck } from "../control/netcheck_format.ts";
import type { CommandContext } from "./command_context.ts";
import { parseControlCommand } from "./command_status.ts";

/** How long the CLI waits: the daemon waits at most ~6 s for a STUN round. */
const NETCHECK_TIMEOUT_MS = 10_000;

/** Prints the daemon's NAT check: a table, or its JSON with --json. */
export async function netcheckCommand(context: CommandContext, args: string[]): Promise<number> {
  const { target, json } = parseControlCommand(context, "netcheck", args, true);
  let response;
  try {
    response = await sendControlRequest(target.path, { command: "netcheck" }, NETCHECK_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof DaemonNotRunningError) {
      throw new DaemonNotRunningError(
        `${target.path}; netcheck reports the mesh port of a running daemon: start it with 'meshguard up'`,
      );
    }
    throw error;
  }
  if (!response.ok) throw new ControlRefusedError(`the daemon refused netcheck: ${response.error}`);
  if (!("netcheck" in response)) throw new ControlError("the daemon answered netcheck without one");
  context.io.stdout(
    json ? `${JSON.stringify(response.netcheck, null, 2)}\n` : formatNetcheck(response.netcheck),
  );
  return 0;
}
