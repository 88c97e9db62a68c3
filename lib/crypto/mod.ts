/** The WebAssembly packet core: AEADs, BLAKE2s/HMAC/KDF, replay window, batch API. */

export {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  XAEAD_NONCE_BYTES,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "./aead.ts";
export { type BatchEntry, BatchStatus, type BatchStatusCode, DescriptorTable } from "./batch.ts";
export {
  blake2s,
  BLAKE2S_HASH_BYTES,
  BLAKE2S_MAX_KEY_BYTES,
  type Blake2sOptions,
  hmacBlake2s,
  kdf,
} from "./blake2s.ts";
export {
  type CoreExports,
  coreModuleUrl,
  type CoreVariant,
  loadCoreModule,
} from "./core_module.ts";
export { CryptoCore, type CryptoCoreOptions } from "./crypto_core.ts";
export {
  CryptoError,
  CryptoInputError,
  CryptoLayoutError,
  CryptoModuleLoadError,
} from "./errors.ts";
export {
  createCoreMemory,
  DESCRIPTOR_BYTES,
  KEY_SLOT_BYTES,
  type MemoryLayout,
  type MemoryLayoutOptions,
  planMemoryLayout,
  REPLAY_SLOT_BYTES,
  SCRATCH_BYTES,
  scratchAddress,
} from "./memory_layout.ts";
export {
  COUNTER_BITS_TOTAL,
  COUNTER_REDUNDANT_BITS,
  COUNTER_WINDOW_SIZE,
  REJECT_AFTER_MESSAGES,
  replayCheck,
  replayReset,
} from "./replay_window.ts";
