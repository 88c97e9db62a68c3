/**
 * The TS facade: layout arithmetic, module/layout agreement, the scalar build really has no
 * SIMD, and bad input is refused with typed, actionable errors.
 */

import assert from "node:assert/strict";
import { chacha20Poly1305Open, chacha20Poly1305Seal } from "../../lib/crypto/aead.ts";
import { blake2s, kdf } from "../../lib/crypto/blake2s.ts";
import { coreModuleUrl } from "../../lib/crypto/core_module.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { CryptoInputError, CryptoLayoutError } from "../../lib/crypto/errors.ts";
import {
  createCoreMemory,
  planMemoryLayout,
  REGION_ALIGN,
  REPLAY_SLOT_BYTES,
  SCRATCH_BYTES,
  scratchAddress,
} from "../../lib/crypto/memory_layout.ts";
import { coreFor } from "./helpers.ts";

Deno.test("layout regions are aligned, ordered and non-overlapping", () => {
  const l = planMemoryLayout({ keySlots: 100, replaySlots: 50, instances: 3, stagingBytes: 1000 });
  for (const at of [l.keySlotBase, l.replaySlotBase, l.instanceBase, l.arenaBase]) {
    assert.equal(at % REGION_ALIGN, 0);
  }
  assert.ok(l.keySlotBase + 100 * 32 <= l.replaySlotBase);
  assert.ok(l.replaySlotBase + 50 * REPLAY_SLOT_BYTES <= l.instanceBase);
  assert.ok(l.instanceStride >= SCRATCH_BYTES + 1000);
  assert.equal(l.arenaBase, l.instanceBase + 3 * l.instanceStride);
  assert.ok(l.pages * 65536 >= l.arenaBase + l.arenaBytes);
  assert.equal(scratchAddress(l, 2), l.instanceBase + 2 * l.instanceStride);
  assert.throws(() => scratchAddress(l, 3), CryptoLayoutError);
  assert.throws(() => planMemoryLayout({ replaySlots: 10, keySlots: 5 }), CryptoLayoutError);
  assert.throws(() => planMemoryLayout({ instances: 0 }), CryptoLayoutError);
  assert.throws(() => planMemoryLayout({ arenaBytes: 2 ** 31 }), /reduce arenaBytes/);
  const memory = createCoreMemory(l);
  assert.equal(memory.buffer.byteLength, l.pages * 65536);
  assert.ok(memory.buffer instanceof SharedArrayBuffer);
});

Deno.test("module imports only the shared memory, carries no data segment, and reports its SIMD build", async () => {
  for (const variant of ["simd", "scalar"] as const) {
    const bytes = await Deno.readFile(coreModuleUrl(variant));
    const module = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(module), [
      { module: "env", name: "memory", kind: "memory" },
    ]);
    // Section ids: a data section (11) would be re-applied by every instantiation on the shared
    // memory, so the module must have none.
    const sections: number[] = [];
    let p = 8;
    const leb = () => {
      let v = 0, shift = 0, b = 0;
      do {
        b = bytes[p++];
        v |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      return v >>> 0;
    };
    while (p < bytes.length) {
      const id = bytes[p++];
      p += leb();
      sections.push(id);
    }
    assert.ok(!sections.includes(11), `${variant} has a data section`);
    const core = await CryptoCore.create({ variant, instances: 1 });
    assert.equal(core.simd, variant === "simd");
  }
});

Deno.test("facade refuses bad sizes with CryptoInputError", async () => {
  const core = await coreFor("simd");
  const key = new Uint8Array(32);
  assert.throws(
    () => chacha20Poly1305Seal(core, key.subarray(1), new Uint8Array(12), key),
    CryptoInputError,
  );
  assert.throws(
    () => chacha20Poly1305Seal(core, key, new Uint8Array(24), key),
    /nonce must be 12 bytes/,
  );
  assert.throws(
    () => chacha20Poly1305Open(core, key, new Uint8Array(12), new Uint8Array(15)),
    /tag/,
  );
  assert.throws(
    () =>
      chacha20Poly1305Seal(core, key, new Uint8Array(12), new Uint8Array(core.layout.stagingBytes)),
    /stagingBytes/,
  );
  assert.throws(() => blake2s(core, key, { outLen: 33 }), CryptoInputError);
  assert.throws(() => blake2s(core, key, { key: new Uint8Array(33) }), CryptoInputError);
  assert.throws(() => kdf(core, 4 as 3, key, key), CryptoInputError);
  assert.throws(() => core.setKey(core.layout.keySlots, key), CryptoInputError);
  assert.throws(() => core.setKey(0, key.subarray(2)), CryptoInputError);
  assert.throws(() => core.checkRange(core.bytes.length - 4, 8), CryptoInputError);
  core.setKey(0, key.fill(7));
  core.clearKey(0);
  const at = core.keySlotAddress(0);
  assert.ok(core.bytes.subarray(at, at + 32).every((b) => b === 0));
});

Deno.test("a failed open returns null and the byte API does not leak the key in staging", async () => {
  const core = await coreFor("simd");
  const key = new Uint8Array(32).fill(0x42);
  const nonce = new Uint8Array(12);
  const sealed = chacha20Poly1305Seal(core, key, nonce, new Uint8Array(100));
  sealed[3] ^= 1;
  assert.equal(chacha20Poly1305Open(core, key, nonce, sealed), null);
  assert.ok(core.bytes.subarray(core.stagingBase, core.stagingBase + 64).every((b) => b === 0));
});
