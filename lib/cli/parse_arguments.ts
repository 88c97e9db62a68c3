/** Strict flag parsing for one command, turning every mistake into a UsageError. */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** Flags every command accepts. */
export const GLOBAL_OPTIONS = {
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

/** Parses `args` for `command` against its own options plus the global ones. */
export function parseCommandArguments<T extends ParseArgsOptionsConfig>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // node's messages end with hints about '--' that do not apply to us; keep the first line.
    throw new UsageError(
      message.split("\n")[0].replace(/\. To specify a positional.*$/, ""),
      command,
    );
  }
}
