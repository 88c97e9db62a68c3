/** `meshguard down`: asks the running daemon to leave the mesh and stop. */

import { ControlRefusedError, sendControlRequest } from "../control/control_client.ts";
import type { CommandContext } from "./command_context.ts";
import { parseControlCommand } from "./command_status.ts";

/** Sends `down`; the daemon answers before it stops, so this does not wait for the exit. */
export async function downCommand(context: CommandContext, args: string[]): Promise<number> {
  const { target, interfaceGiven } = parseControlCommand(context, "down", args, false);
  const response = await sendControlRequest(target.path, { command: "down" });
  if (!response.ok) throw new ControlRefusedError(response.error);
  const which = target.explicit && !interfaceGiven
    ? `(control socket ${target.path})`
    : `on ${target.interfaceName}`;
  context.io.stdout(`meshguard ${which} is stopping\n`);
  return 0;
}
