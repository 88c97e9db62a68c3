/** Runs `main.ts` as a real subprocess against a temporary config dir, with chosen permissions. */

import { fileURLToPath } from "node:url";

/** Repository root (where main.ts lives). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The permission flags the README documents for each command. */
export const DOCUMENTED_PERMISSIONS: Record<string, string[]> = {
  keygen: ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  export: ["--allow-env", "--allow-sys=uid", "--allow-read"],
  trust: ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  revoke: ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  config: ["--allow-env", "--allow-sys=uid", "--allow-read"],
  "org-keygen": ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  "org-sign": ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  "org-delegate": ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  "org-vouch": ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  "org-revoke": ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"],
  cert: ["--allow-env", "--allow-sys=uid", "--allow-read"],
  up: [
    "--allow-env",
    "--allow-sys",
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-ffi",
  ],
  status: ["--allow-env", "--allow-sys", "--allow-read", "--allow-write", "--allow-net"],
  down: ["--allow-env", "--allow-sys", "--allow-read", "--allow-write", "--allow-net"],
  netcheck: ["--allow-env", "--allow-sys", "--allow-read", "--allow-write", "--allow-net"],
  version: [],
  help: [],
};

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one run. */
export interface RunOptions {
  /** Appended as `--config DIR` unless null. */
  configDir?: string | null;
  stdin?: string;
  env?: Record<string, string>;
  /** Permission flags; default: what the README documents for the command. */
  permissions?: string[];
}

/** Runs `deno run <permissions> main.ts <args…>` and collects its output. */
export async function runMeshguard(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const command = args.find((arg) => !arg.startsWith("-")) ?? "help";
  const permissions = options.permissions ?? DOCUMENTED_PERMISSIONS[command] ?? ["--allow-all"];
  const configArgs = options.configDir ? ["--config", options.configDir] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, "main.ts", ...args, ...configArgs],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A fresh temporary directory, removed by the returned disposer. */
export async function temporaryDirectory(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "meshguard-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Lists a folder's entry names, sorted; [] when it does not exist. */
export async function listNames(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}
