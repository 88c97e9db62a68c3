/** What every command receives: its parsed arguments' shared parts and the process. */

import { resolveConfigDir } from "../config/config_dir.ts";
import type { CliIo } from "./cli_io.ts";

/** Shared state of one CLI invocation. */
export interface CommandContext {
  io: CliIo;
  /** Resolves the config directory (flag, env, uid) on first use. */
  configDir(): string;
}

/** Builds the context for one invocation with the `--config` flag value, if any. */
export function createCommandContext(io: CliIo, configFlag: string | undefined): CommandContext {
  let cached: string | undefined;
  return {
    io,
    configDir() {
      cached ??= resolveConfigDir({
        flag: configFlag,
        env: (name) => io.env(name),
        // uid and cwd are only looked up when the answer depends on them.
        get uid() {
          return io.uid();
        },
        get cwd() {
          return io.cwd();
        },
      });
      return cached;
    },
  };
}
