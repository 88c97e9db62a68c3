/** `meshguard status`: asks the running daemon for its status and prints it. */

import { resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { ControlRefusedError, sendControlRequest } from "../control/control_client.ts";
import {
  DEFAULT_INTERFACE,
  defaultControlPath,
  isValidInterfaceName,
} from "../control/control_path.ts";
import { ControlError } from "../control/control_protocol.ts";
import { formatStatus } from "../control/status_format.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** The daemon a `status`/`down` invocation talks to. */
export interface ControlTarget {
  interfaceName: string;
  /** The control socket path (absolute). */
  path: string;
  /** True when --control named the socket (the interface is then only a label). */
  explicit: boolean;
}

/** Resolves `--interface` and `--control` (default: the daemon's default path for this user). */
export function resolveControlTarget(
  context: CommandContext,
  command: string,
  values: { interface?: string; control?: string },
): ControlTarget {
  const interfaceName = values.interface ?? DEFAULT_INTERFACE;
  if (!isValidInterfaceName(interfaceName)) {
    throw new UsageError(
      `--interface must be an interface name (1-15 characters, no '/', ':' or spaces), got '${interfaceName}'`,
      command,
    );
  }
  if (values.control !== undefined) {
    if (values.control.length === 0) throw new UsageError("--control needs a path", command);
    return {
      interfaceName,
      path: resolve(context.io.cwd(), values.control),
      explicit: true,
    };
  }
  const uid = context.io.uid();
  // Root's socket is under /run: the config dir is only needed for everyone else's.
  const configDir = uid === 0 ? "" : context.configDir();
  return {
    interfaceName,
    path: defaultControlPath(interfaceName, configDir, uid),
    explicit: false,
  };
}

/** Prints the daemon's status: a table, or its JSON with --json. */
export async function statusCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("status", args, {
    json: { type: "boolean" },
    interface: { type: "string" },
    control: { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError("status takes no arguments", "status");
  const target = resolveControlTarget(context, "status", values);
  const response = await sendControlRequest(target.path, { command: "status" });
  if (!response.ok) throw new ControlRefusedError(`the daemon refused status: ${response.error}`);
  if (!("status" in response)) throw new ControlError("the daemon answered status without one");
  context.io.stdout(
    values.json
      ? `${JSON.stringify(response.status, null, 2)}\n`
      : formatStatus(response.status, new Date()),
  );
  return 0;
}
