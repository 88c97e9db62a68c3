/**
 * The CLI dispatcher: finds the command, gives up the Deno permissions it does not need,
 * runs it, and turns every failure into one `error: …` line and an exit code.
 */

import { MeshguardError, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CliIo, CommandPermission } from "./cli_io.ts";
import { type CommandContext, createCommandContext } from "./command_context.ts";
import { controllerCommand } from "./command_controller.ts";
import { certCommand } from "./command_cert.ts";
import { configCommand } from "./command_config_show.ts";
import {
  orgDelegateCommand,
  orgKeygenCommand,
  orgRevokeCommand,
  orgVouchCommand,
} from "./command_org.ts";
import { orgSignCommand } from "./command_org_sign.ts";
import { deviceCommand } from "./command_device.ts";
import { downCommand } from "./command_down.ts";
import { exportCommand } from "./command_export.ts";
import { keygenCommand } from "./command_keygen.ts";
import { netcheckCommand } from "./command_netcheck.ts";
import { revokeCommand } from "./command_revoke.ts";
import { serviceCommand } from "./command_service.ts";
import { statusCommand } from "./command_status.ts";
import { trustCommand } from "./command_trust.ts";
import { upCommand } from "./command_up.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { COMMAND_USAGE, OVERVIEW } from "./usage.ts";

/** One CLI command: what it may touch and how it runs. */
interface Command {
  /** Permissions kept while the command runs (all others are revoked first). */
  permissions: readonly CommandPermission[];
  /** Whether the config directory is resolved before permissions are dropped. */
  usesConfigDir: boolean;
  run(context: CommandContext, args: string[]): Promise<number>;
}

const NO_PERMISSIONS: readonly CommandPermission[] = [];

const COMMANDS: Record<string, Command> = {
  keygen: { permissions: ["read", "write"], usesConfigDir: true, run: keygenCommand },
  export: { permissions: ["read"], usesConfigDir: true, run: exportCommand },
  trust: { permissions: ["read", "write"], usesConfigDir: true, run: trustCommand },
  revoke: { permissions: ["read", "write"], usesConfigDir: true, run: revokeCommand },
  config: { permissions: ["read"], usesConfigDir: true, run: configCommand },
  service: { permissions: ["read", "write"], usesConfigDir: true, run: serviceCommand },
  "org-keygen": { permissions: ["read", "write"], usesConfigDir: true, run: orgKeygenCommand },
  "org-sign": { permissions: ["read", "write"], usesConfigDir: true, run: orgSignCommand },
  "org-delegate": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    run: orgDelegateCommand,
  },
  "org-vouch": { permissions: ["read", "write"], usesConfigDir: true, run: orgVouchCommand },
  "org-revoke": { permissions: ["read", "write"], usesConfigDir: true, run: orgRevokeCommand },
  cert: { permissions: ["read"], usesConfigDir: true, run: certCommand },
  device: {
    permissions: ["read", "write", "net", "ffi"],
    usesConfigDir: false,
    run: deviceCommand,
  },
  // run, only when granted: resolvectl (routes .mesh to the node's resolver where
  // systemd-resolved runs) and `--score-command` (admission control).
  up: {
    permissions: ["read", "write", "net", "ffi", "env", "sys", "run"],
    usesConfigDir: true,
    run: upCommand,
  },
  // read, write and net: Deno's rule for connecting to a unix socket; env and sys (uid): the
  // default socket path, which depends on the uid and, for non-root users, the config dir.
  status: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    run: statusCommand,
  },
  down: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    run: downCommand,
  },
  netcheck: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    run: netcheckCommand,
  },
  // read/write: the nodes file, TLS files, the SQLite database and status.json; net: HTTP.
  controller: {
    permissions: ["read", "write", "net"],
    usesConfigDir: false,
    run: controllerCommand,
  },
  version: {
    permissions: NO_PERMISSIONS,
    usesConfigDir: false,
    run: (context, args) => {
      const { positionals } = parseCommandArguments("version", args, {});
      if (positionals.length > 0) throw new UsageError("version takes no arguments", "version");
      context.io.stdout(`meshguard ${VERSION}\n`);
      return Promise.resolve(0);
    },
  },
  help: {
    permissions: NO_PERMISSIONS,
    usesConfigDir: false,
    run: (context, args) => {
      const { positionals } = parseCommandArguments("help", args, {});
      const topic = positionals[0];
      if (topic === undefined) context.io.stdout(OVERVIEW);
      else if (COMMAND_USAGE[topic]) context.io.stdout(COMMAND_USAGE[topic]);
      else throw new UsageError(`no help for unknown command '${topic}'`);
      return Promise.resolve(0);
    },
  },
};

/** Splits argv into the command word and the rest (flags may come before the command). */
function findCommand(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") break;
    if (token === "--config") {
      i++;
      continue;
    }
    if (token.startsWith("-")) continue;
    return { name: token, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: argv };
}

function describeUnexpected(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return `missing permission: ${error.message}`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${error.message} (run as the owner of the config directory, or as root)`;
  }
  if (error instanceof Error) return `unexpected failure: ${error.message}`;
  return `unexpected failure: ${String(error)}`;
}

/** Runs the CLI with `argv` (without the program name) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { name, rest } = findCommand(argv);
  try {
    if (name === undefined) {
      if (rest.includes("--version")) {
        return await COMMANDS.version.run(createCommandContext(io, undefined), []);
      }
      if (rest.includes("-h") || rest.includes("--help")) {
        io.stdout(OVERVIEW);
        return 0;
      }
      throw new UsageError("no command given");
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command '${name}'`);
    if (rest.includes("-h") || rest.includes("--help")) {
      io.stdout(COMMAND_USAGE[name] ?? OVERVIEW);
      return 0;
    }
    const configFlag = readConfigFlag(rest);
    const context = createCommandContext(io, configFlag);
    if (command.usesConfigDir) context.configDir();
    io.dropPermissionsExcept(command.permissions);
    return await command.run(context, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n\n`);
      const usage = error.command ? COMMAND_USAGE[error.command] : undefined;
      io.stderr(usage ?? OVERVIEW);
      return error.exitCode;
    }
    if (error instanceof MeshguardError) {
      io.stderr(`error: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`error: ${describeUnexpected(error)}\n`);
    return 1;
  }
}

function readConfigFlag(args: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] === "--config") {
      value = args[i + 1];
      if (value === undefined || value.startsWith("-")) {
        throw new UsageError("--config needs a directory");
      }
      i++;
    } else if (args[i].startsWith("--config=")) value = args[i].slice("--config=".length);
  }
  return value;
}
