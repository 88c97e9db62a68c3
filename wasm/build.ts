/**
 * Builds the packet core from wasm/src with AssemblyScript (pinned in deno.json) into
 * wasm/build/. Two variants come from the same sources: `simd` (v128 ChaCha20, the one the
 * daemon runs) and `scalar` (no SIMD instructions at all, for comparison and for runtimes
 * without wasm SIMD). Both import one shared memory so several workers can use it.
 *
 * Usage: deno task build:wasm         (writes wasm/build/*.wasm)
 *        deno task build:wasm --check (exits 1 if the committed modules differ from a rebuild)
 *
 * The compiler runs in-process with in-memory I/O, so a rebuild needs only read access to the
 * sources (and env access to "CI", which asc probes for terminal colours).
 */

import asc from "assemblyscript/asc";

/** The two builds of the core. */
export type CoreVariant = "simd" | "scalar";

/** Every variant, in build order. */
export const CORE_VARIANTS: readonly CoreVariant[] = ["simd", "scalar"];

/** Largest memory (in 64 KiB pages) the module accepts: 1 GiB. The host picks the real size. */
export const MAXIMUM_MEMORY_PAGES = 16384;

const SOURCE_DIR = new URL("./src/", import.meta.url);
const BUILD_DIR = new URL("./build/", import.meta.url);
const ENTRY = "index.ts";

/** Where the committed module of a variant lives. */
export function coreModuleUrl(variant: CoreVariant): URL {
  return new URL(`meshguard_core_${variant}.wasm`, BUILD_DIR);
}

/** The asc command line for a variant (file names are relative to wasm/src). */
export function compilerArgs(variant: CoreVariant): string[] {
  return [
    ENTRY,
    "-O3",
    "--runtime",
    "stub",
    "--noAssert",
    "--use",
    "abort=",
    "--enable",
    "threads",
    ...(variant === "simd" ? ["--enable", "simd"] : []),
    "--importMemory",
    "--sharedMemory",
    "--noExportMemory",
    "--initialMemory",
    "1",
    "--maximumMemory",
    String(MAXIMUM_MEMORY_PAGES),
    "--outFile",
    "out.wasm",
  ];
}

/** Raised when AssemblyScript reports errors; the message carries its diagnostics. */
export class WasmBuildError extends Error {
  constructor(variant: CoreVariant, diagnostics: string) {
    super(`AssemblyScript build of the ${variant} core failed:\n${diagnostics}`);
    this.name = "WasmBuildError";
  }
}

/** Compiles one variant from wasm/src and returns the module bytes (nothing is written). */
export async function compileCore(variant: CoreVariant): Promise<Uint8Array> {
  let output: Uint8Array | null = null;
  const stderr = asc.createMemoryStream();
  const result = await asc.main(compilerArgs(variant), {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: async (name: string) => {
      // Only our own sources come from disk; asc ships its standard library inside itself.
      try {
        return await Deno.readTextFile(new URL(name, SOURCE_DIR));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return null;
        throw error;
      }
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith(".wasm") && contents instanceof Uint8Array) output = contents;
    },
    listFiles: () => [],
  });
  if (result.error || output === null) {
    throw new WasmBuildError(variant, `${result.error ?? "no output"}\n${stderr.toString()}`);
  }
  return output;
}

/** Byte-compares a fresh build of every variant with the committed files; lists mismatches. */
export async function staleVariants(): Promise<CoreVariant[]> {
  const stale: CoreVariant[] = [];
  for (const variant of CORE_VARIANTS) {
    const fresh = await compileCore(variant);
    let committed: Uint8Array;
    try {
      committed = await Deno.readFile(coreModuleUrl(variant));
    } catch {
      stale.push(variant);
      continue;
    }
    if (committed.length !== fresh.length || committed.some((b, i) => b !== fresh[i])) {
      stale.push(variant);
    }
  }
  return stale;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const stale = await staleVariants();
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(", ")}; run deno task build:wasm and commit wasm/build`);
      Deno.exit(1);
    }
    console.log("wasm/build is up to date");
  } else {
    await Deno.mkdir(BUILD_DIR, { recursive: true });
    for (const variant of CORE_VARIANTS) {
      const bytes = await compileCore(variant);
      await Deno.writeFile(coreModuleUrl(variant), bytes);
      console.log(`${coreModuleUrl(variant).pathname}: ${bytes.length} bytes`);
    }
  }
}
