/**
 * ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305 on byte arrays: inputs are copied into
 * the instance's staging area, sealed or opened there in place, and copied out. The data plane
 * skips this and calls `core.exports.aeadSeal/aeadOpen` or the batch API on memory it owns.
 */

import type { CryptoCore } from "./crypto_core.ts";
import { CryptoInputError } from "./errors.ts";

/** ChaCha20-Poly1305 key length. */
export const AEAD_KEY_BYTES = 32;
/** IETF ChaCha20-Poly1305 nonce length. */
export const AEAD_NONCE_BYTES = 12;
/** XChaCha20-Poly1305 nonce length. */
export const XAEAD_NONCE_BYTES = 24;
/** Poly1305 tag length. */
export const AEAD_TAG_BYTES = 16;

const EMPTY = new Uint8Array(0);
// Staging area: key, nonce (room for 24 B), then AAD, then the message + tag.
const ST_KEY = 0;
const ST_NONCE = 32;
const ST_AAD = 64;

interface Staged {
  key: number;
  nonce: number;
  aad: number;
  data: number;
}

function stage(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  nonceBytes: number,
  aad: Uint8Array,
  data: Uint8Array,
): Staged {
  if (key.length !== AEAD_KEY_BYTES) {
    throw new CryptoInputError(`key must be ${AEAD_KEY_BYTES} bytes, got ${key.length}`);
  }
  if (nonce.length !== nonceBytes) {
    throw new CryptoInputError(`nonce must be ${nonceBytes} bytes, got ${nonce.length}`);
  }
  const base = core.stagingBase;
  const dataAt = base + ST_AAD + Math.ceil(aad.length / 16) * 16;
  const need = dataAt - base + data.length + AEAD_TAG_BYTES;
  if (need > core.layout.stagingBytes) {
    throw new CryptoInputError(
      `message + AAD need ${need} staging bytes but the layout reserves ${core.layout.stagingBytes}; raise stagingBytes or use the pointer API`,
    );
  }
  core.bytes.set(key, base + ST_KEY);
  core.bytes.set(nonce, base + ST_NONCE);
  core.bytes.set(aad, base + ST_AAD);
  core.bytes.set(data, dataAt);
  return { key: base + ST_KEY, nonce: base + ST_NONCE, aad: base + ST_AAD, data: dataAt };
}

function unstage(core: CryptoCore): void {
  core.bytes.fill(0, core.stagingBase, core.stagingBase + ST_AAD);
}

function sealWith(
  core: CryptoCore,
  x: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const s = stage(core, key, nonce, x ? XAEAD_NONCE_BYTES : AEAD_NONCE_BYTES, aad, plaintext);
  const seal = x ? core.exports.xaeadSeal : core.exports.aeadSeal;
  seal(s.key, s.nonce, s.aad, aad.length, s.data, plaintext.length);
  unstage(core);
  return core.bytes.slice(s.data, s.data + plaintext.length + AEAD_TAG_BYTES);
}

function openWith(
  core: CryptoCore,
  x: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  if (sealed.length < AEAD_TAG_BYTES) {
    throw new CryptoInputError(
      `sealed message must hold at least the ${AEAD_TAG_BYTES}-byte tag, got ${sealed.length} bytes`,
    );
  }
  const len = sealed.length - AEAD_TAG_BYTES;
  const s = stage(
    core,
    key,
    nonce,
    x ? XAEAD_NONCE_BYTES : AEAD_NONCE_BYTES,
    aad,
    sealed,
  );
  const open = x ? core.exports.xaeadOpen : core.exports.aeadOpen;
  const ok = open(s.key, s.nonce, s.aad, aad.length, s.data, len) === 1;
  unstage(core);
  return ok ? core.bytes.slice(s.data, s.data + len) : null;
}

/** ChaCha20-Poly1305 seal; returns ciphertext ‖ 16-byte tag. */
export function chacha20Poly1305Seal(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  return sealWith(core, false, key, nonce, plaintext, aad);
}

/** ChaCha20-Poly1305 open of ciphertext ‖ tag; null when authentication fails. */
export function chacha20Poly1305Open(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array | null {
  return openWith(core, false, key, nonce, sealed, aad);
}

/** XChaCha20-Poly1305 seal (24-byte nonce); returns ciphertext ‖ 16-byte tag. */
export function xchacha20Poly1305Seal(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  return sealWith(core, true, key, nonce, plaintext, aad);
}

/** XChaCha20-Poly1305 open of ciphertext ‖ tag (24-byte nonce); null when authentication fails. */
export function xchacha20Poly1305Open(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array | null {
  return openWith(core, true, key, nonce, sealed, aad);
}
