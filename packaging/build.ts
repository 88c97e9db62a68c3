/**
 * Packaging builds.
 *
 *   deno task bundle  [--outdir DIR]   → DIR (default dist/): meshguard.js, device_worker.js and the
 *                                         wasm core, a self-contained program run with `deno run`
 *   deno task compile [--output FILE]  → FILE (default dist/meshguard): one executable (deno compile)
 *
 * The bundle is made by `deno bundle` (Deno's built-in esbuild), one entry point at a time: the
 * CLI and the data-plane worker must be separate files because a Worker is started from a module
 * URL. The code finds the worker and the wasm beside the bundle (lib/device/worker_location.ts,
 * lib/crypto/core_module.ts).
 */

import { parseArgs } from "node:util";

/** The repository root, whatever the working directory. */
export const REPO_ROOT: URL = new URL("../", import.meta.url);

/** The wasm builds shipped beside the bundle (lib/crypto/core_module.ts loads them by name). */
export const WASM_FILES: readonly string[] = [
  "meshguard_core_simd.wasm",
  "meshguard_core_scalar.wasm",
];

/**
 * The Deno permissions `meshguard up` keeps (lib/cli/cli.ts: read, write, net, ffi, env, sys),
 * with env and sys narrowed to what the code asks for: the config-dir variables, the uid, the
 * interface list and the host name (the node's mesh name), and run to `resolvectl` (.mesh routing). Every other command needs a subset, so one binary with these serves all.
 * read/write stay unscoped here because --config can point anywhere; the systemd unit scopes them.
 */
export const UP_PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-ffi",
  "--allow-env=MESHGUARD_CONFIG_DIR,XDG_CONFIG_HOME,HOME",
  "--allow-sys=uid,networkInterfaces,hostname",
  "--allow-run=resolvectl",
];

/**
 * V8 flags every long-running meshguard process is started with. A daemon's main thread keeps a
 * steady stream of short-lived objects (SWIM datagrams, timers, handshakes) alive across a
 * scavenge or two, so V8 grows each young-generation semi-space to 16 MiB: 32 MiB resident with
 * ~3 MiB live (measured with v8.getHeapSpaceStatistics in a 20-node mesh). Capping a semi-space at
 * 2 MiB took a daemon there from 123 to 99 MiB RSS at the same idle CPU (bench/device_memory.ts).
 * The data path allocates nothing per packet, so the workers do not notice. Only a start-up flag
 * can do this: the main isolate's young generation is sized when it is created.
 */
export const RUNTIME_FLAGS: readonly string[] = ["--v8-flags=--max-semi-space-size=2"];

/** A packaging step that failed, with the message to print. */
export class BuildError extends Error {}

async function deno(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  // By name, so that --allow-run=deno covers it (Deno.execPath() may be a symlink target).
  const output = await new Deno.Command("deno", {
    args,
    cwd: REPO_ROOT.pathname,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { ok: output.success, stderr: new TextDecoder().decode(output.stderr) };
}

/** Writes the bundle into `outdir` (created if missing) and returns the files written. */
export async function bundle(outdir: string): Promise<string[]> {
  await Deno.mkdir(outdir, { recursive: true });
  const entries: [string, string][] = [
    ["main.ts", "meshguard.js"],
    ["lib/device/device_worker.ts", "device_worker.js"],
  ];
  const written: string[] = [];
  for (const [entry, name] of entries) {
    const target = `${outdir}/${name}`;
    const result = await deno(["bundle", "--quiet", "--platform", "deno", "-o", target, entry]);
    if (!result.ok) throw new BuildError(`deno bundle ${entry} failed:\n${result.stderr}`);
    written.push(target);
  }
  for (const name of WASM_FILES) {
    const target = `${outdir}/${name}`;
    await Deno.copyFile(new URL(`wasm/build/${name}`, REPO_ROOT), target);
    written.push(target);
  }
  return written;
}

/**
 * Compiles the CLI into one executable with `up`'s permissions, the worker and the wasm core
 * embedded (--include). From the sources, so module paths, and with them the worker and wasm
 * lookups, stay as in the repository.
 */
export async function compile(output: string, denortBin: string | undefined): Promise<void> {
  const includes = ["lib/device/device_worker.ts", ...WASM_FILES.map((n) => `wasm/build/${n}`)];
  const result = await deno([
    "compile",
    "--quiet",
    ...RUNTIME_FLAGS,
    ...UP_PERMISSION_FLAGS,
    ...includes.flatMap((path) => ["--include", path]),
    "--output",
    output,
    "main.ts",
  ]);
  if (result.ok) return;
  const runtime = `denort ${Deno.version.deno} (${Deno.build.target})`;
  const hint = /dl\.deno\.land|error sending request|dns error/.test(result.stderr)
    ? `deno compile needs the ${runtime} runtime, which it downloads from dl.deno.land, and ` +
      `that download failed (no network?). Put the matching denort binary on this machine and ` +
      `set DENORT_BIN=/path/to/denort${denortBin ? ` (DENORT_BIN is ${denortBin})` : ""}, ` +
      `or use 'deno task bundle' and run dist/meshguard.js with deno (packaging/README.md).`
    : `deno compile failed.`;
  throw new BuildError(`${hint}\n\n${result.stderr.trim()}`);
}

async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { outdir: { type: "string" }, output: { type: "string" } },
  });
  const [command] = positionals;
  try {
    if (command === "bundle" && positionals.length === 1) {
      const outdir = values.outdir ?? new URL("dist", REPO_ROOT).pathname;
      for (const file of await bundle(outdir)) console.log(file);
      return 0;
    }
    if (command === "compile" && positionals.length === 1) {
      const output = values.output ?? new URL("dist/meshguard", REPO_ROOT).pathname;
      const denortBin = Deno.permissions.querySync({ name: "env", variable: "DENORT_BIN" })
          .state === "granted"
        ? Deno.env.get("DENORT_BIN")
        : undefined;
      await compile(output, denortBin);
      console.log(output);
      return 0;
    }
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  console.error("usage: packaging/build.ts bundle [--outdir DIR] | compile [--output FILE]");
  return 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
