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

/**
 * The arguments of a command that talks to the daemon (`status`, `netcheck`, `down`): no
 * positionals, `--interface`/`--control` resolved to its socket, and `--json` where `json` is set.
 */
export function parseControlCommand(
  context: CommandContext,
  command: string,
  args: string[],
  json: boolean,
): { target: ControlTarget; json: boolean; interfaceGiven: boolean } {
  const { values, positionals } = parseCommandArguments(
    command,
    args,
    {
      interface: { type: "string" },
      control: { type: "string" },
      ...(json ? { json: { type: "boolean" } } : {}),
    } as const,
  );
  if (positionals.length > 0) throw new UsageError(`${command} takes no arguments`, command);
  return {
    target: resolveControlTarget(context, command, values),
    json: (values as { json?: boolean }).json === true,
    interfaceGiven: values.interface !== undefined,
  };
}

/** Prints the daemon's status: a table, or its JSON with --json. */
export async function statusCommand(context: CommandContext, args: string[]): Promise<number> {
  const { target, json } = parseControlCommand(context, "status", args, true);
  const response = await sendControlRequest(target.path, { command: "status" });
  if (!response.ok) throw new ControlRefusedError(`the daemon refused status: ${response.error}`);
  if (!("status" in response)) throw new ControlError("the daemon answered status without one");
  context.io.stdout(
    json
      ? `${JSON.stringify(response.status, null, 2)}\n`
      : formatStatus(response.status, new Date()),
  );
  return 0;
}
