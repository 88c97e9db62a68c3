/** `meshguard down`: asks the running daemon to leave the mesh and stop. */

import { UsageError } from "../errors.ts";
import { ControlRefusedError, sendControlRequest } from "../control/control_client.ts";
import type { CommandContext } from "./command_context.ts";
import { resolveControlTarget } from "./command_status.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Sends `down`; the daemon answers before it stops, so this does not wait for the exit. */
export async function downCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("down", args, {
    interface: { type: "string" },
    control: { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError("down takes no arguments", "down");
  const target = resolveControlTarget(context, "down", values);
  const response = await sendControlRequest(target.path, { command: "down" });
  if (!response.ok) throw new ControlRefusedError(response.error);
  const which = target.explicit && values.interface === undefined
    ? `(control socket ${target.path})`
    : `on ${target.interfaceName}`;
  context.io.stdout(`meshguard ${which} is stopping\n`);
  return 0;
}
