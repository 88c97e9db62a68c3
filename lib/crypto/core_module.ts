/**
 * Finding, reading and compiling the packet-core .wasm. Only the file read needs a permission
 * (`--allow-read` on wasm/build); the compiled WebAssembly.Module can be posted to workers, which
 * then instantiate it against the shared memory without reading anything.
 */

import { CryptoModuleLoadError } from "./errors.ts";

/** The two builds of the core: v128 SIMD (default) and plain scalar. */
export type CoreVariant = "simd" | "scalar";

/** The raw exports of the core; every pointer is a byte address in the shared memory. */
export interface CoreExports {
  setScratch(base: number): void;
  setTables(keyBase: number, keyCount: number, replayBase: number, replayCount: number): void;
  scratchBytes(): number;
  replaySlotBytes(): number;
  hasSimd(): number;
  aeadSeal(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    data: number,
    len: number,
  ): void;
  aeadOpen(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    data: number,
    len: number,
  ): number;
  xaeadSeal(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    data: number,
    len: number,
  ): void;
  xaeadOpen(
    key: number,
    nonce: number,
    aad: number,
    aadLen: number,
    data: number,
    len: number,
  ): number;
  chacha20Xor(key: number, nonce: number, counter: number, data: number, len: number): void;
  chacha20QuarterRound(state: number, a: number, b: number, c: number, d: number): void;
  chacha20Block(key: number, nonce: number, counter: number, out: number): void;
  hchacha20(key: number, nonce16: number, out: number): void;
  poly1305(key: number, msg: number, len: number, out: number): void;
  blake2s(
    out: number,
    outLen: number,
    data: number,
    len: number,
    key: number,
    keyLen: number,
  ): void;
  blake2sInit(state: number, outLen: number, key: number, keyLen: number): void;
  blake2sUpdate(state: number, data: number, len: number): void;
  blake2sFinal(state: number, out: number): void;
  hmacBlake2s(out: number, key: number, keyLen: number, data: number, len: number): void;
  kdf(out: number, n: number, key: number, keyLen: number, data: number, len: number): number;
  replayReset(slot: number): void;
  replayCheck(slot: number, counter: bigint): number;
  sealBatch(table: number, count: number): number;
  openBatch(table: number, count: number, checkReplay: number): number;
  checksumSum(data: number, len: number): number;
}

const SOURCE_FILE = "/lib/crypto/core_module.ts";

/**
 * URL of the committed module for a variant. From source (or a `deno compile` of it) that is
 * wasm/build/ in the repository; inside a bundle written by packaging/build.ts, where this code
 * runs under the bundle's URL, it is the copy beside the bundle.
 */
export function coreModuleUrl(variant: CoreVariant, moduleUrl: string = import.meta.url): URL {
  const file = `meshguard_core_${variant}.wasm`;
  const here = new URL(moduleUrl);
  if (here.pathname.endsWith(SOURCE_FILE)) return new URL(`../../wasm/build/${file}`, here);
  return new URL(`./${file}`, here);
}

const cache = new Map<CoreVariant, Promise<WebAssembly.Module>>();

async function readAndCompile(variant: CoreVariant): Promise<WebAssembly.Module> {
  const url = coreModuleUrl(variant);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(url);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CryptoModuleLoadError(
      `cannot read ${url.pathname} (${why}); grant --allow-read for it, or run deno task build:wasm if it is missing`,
    );
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CryptoModuleLoadError(
      `cannot compile ${url.pathname} (${why}); the runtime needs wasm threads${
        variant === "simd" ? " and SIMD (try the scalar variant)" : ""
      }`,
    );
  }
}

/** Reads and compiles a core variant once per process (later calls share the result). */
export function loadCoreModule(variant: CoreVariant = "simd"): Promise<WebAssembly.Module> {
  let pending = cache.get(variant);
  if (!pending) {
    pending = readAndCompile(variant);
    cache.set(variant, pending);
    pending.catch(() => cache.delete(variant));
  }
  return pending;
}
