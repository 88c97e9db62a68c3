/**
 * The CLI dispatcher: finds the command, gives up the Deno permissions it does not need,
 * runs it, and turns every failure into one `error: …` line and an exit code.
 */

import { MeshguardError, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CliIo, CommandPermission } from "./cli_io.ts";
import { type CommandContext, createCommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { COMMAND_USAGE, OVERVIEW } from "./usage.ts";

/** One CLI command: what it may touch and how it runs. */
interface Command {
  /** Permissions kept while the command runs (all others are revoked first). */
  permissions: readonly CommandPermission[];
  /** Whether the config directory is resolved before permissions are dropped. */
  usesConfigDir: boolean;
  /**
   * Imports the command's module and returns its entry. Loaded on demand so a process holds only
   * the code of the command it runs (`device` never loads membership, trust or the daemon: ~10 MB
   * less resident memory, bench/device_memory.ts).
   */
  load(): Promise<CommandRun>;
}

type CommandRun = (context: CommandContext, args: string[]) => Promise<number>;

function versionCommand(context: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parseCommandArguments("version", args, {});
  if (positionals.length > 0) throw new UsageError("version takes no arguments", "version");
  context.io.stdout(`meshguard ${VERSION}\n`);
  return Promise.resolve(0);
}

function helpCommand(context: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parseCommandArguments("help", args, {});
  const topic = positionals[0];
  if (topic === undefined) context.io.stdout(OVERVIEW);
  else if (COMMAND_USAGE[topic]) context.io.stdout(COMMAND_USAGE[topic]);
  else throw new UsageError(`no help for unknown command '${topic}'`);
  return Promise.resolve(0);
}

const NO_PERMISSIONS: readonly CommandPermission[] = [];

const COMMANDS: Record<string, Command> = {
  keygen: {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_keygen.ts").then((m) => m.keygenCommand),
  },
  export: {
    permissions: ["read"],
    usesConfigDir: true,
    load: () => import("./command_export.ts").then((m) => m.exportCommand),
  },
  trust: {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_trust.ts").then((m) => m.trustCommand),
  },
  revoke: {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_revoke.ts").then((m) => m.revokeCommand),
  },
  config: {
    permissions: ["read"],
    usesConfigDir: true,
    load: () => import("./command_config_show.ts").then((m) => m.configCommand),
  },
  service: {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_service.ts").then((m) => m.serviceCommand),
  },
  "org-keygen": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_org.ts").then((m) => m.orgKeygenCommand),
  },
  "org-sign": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_org_sign.ts").then((m) => m.orgSignCommand),
  },
  "org-delegate": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_org.ts").then((m) => m.orgDelegateCommand),
  },
  "org-vouch": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_org.ts").then((m) => m.orgVouchCommand),
  },
  "org-revoke": {
    permissions: ["read", "write"],
    usesConfigDir: true,
    load: () => import("./command_org.ts").then((m) => m.orgRevokeCommand),
  },
  cert: {
    permissions: ["read"],
    usesConfigDir: true,
    load: () => import("./command_cert.ts").then((m) => m.certCommand),
  },
  device: {
    permissions: ["read", "write", "net", "ffi"],
    usesConfigDir: false,
    load: () => import("./command_device.ts").then((m) => m.deviceCommand),
  },
  // run, only when granted: resolvectl (routes .mesh to the node's resolver where
  // systemd-resolved runs) and `--score-command` (admission control).
  up: {
    permissions: ["read", "write", "net", "ffi", "env", "sys", "run"],
    usesConfigDir: true,
    load: () => import("./command_up.ts").then((m) => m.upCommand),
  },
  // read, write and net: Deno's rule for connecting to a unix socket; env and sys (uid): the
  // default socket path, which depends on the uid and, for non-root users, the config dir.
  status: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    load: () => import("./command_status.ts").then((m) => m.statusCommand),
  },
  down: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    load: () => import("./command_down.ts").then((m) => m.downCommand),
  },
  netcheck: {
    permissions: ["read", "write", "net", "env", "sys"],
    usesConfigDir: false,
    load: () => import("./command_netcheck.ts").then((m) => m.netcheckCommand),
  },
  // read/write: the nodes file, TLS files, the SQLite database and status.json; net: HTTP.
  controller: {
    permissions: ["read", "write", "net"],
    usesConfigDir: false,
    load: () => import("./command_controller.ts").then((m) => m.controllerCommand),
  },
  version: {
    permissions: NO_PERMISSIONS,
    usesConfigDir: false,
    load: () => Promise.resolve(versionCommand),
  },
  help: {
    permissions: NO_PERMISSIONS,
    usesConfigDir: false,
    load: () => Promise.resolve(helpCommand),
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
        return await (await COMMANDS.version.load())(createCommandContext(io, undefined), []);
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
    // Imported before the permissions drop, which may take away reading the module files.
    const run = await command.load();
    io.dropPermissionsExcept(command.permissions);
    return await run(context, rest);
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
