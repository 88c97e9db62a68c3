/** Strict standard base64 (RFC 4648 §4, padded) and hex helpers for key material. */

import { InvalidKeyError } from "../errors.ts";

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Decodes padded standard base64, rejecting anything that would not re-encode to the same
 * text (stray characters, missing padding, non-zero trailing bits), so that one key has
 * exactly one accepted spelling.
 */
export function decodeBase64Strict(text: string, what = "value"): Uint8Array {
  if (!STANDARD_BASE64.test(text)) {
    throw new InvalidKeyError(`${what} is not valid base64 (standard alphabet, padded with '=')`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (encodeBase64(bytes) !== text) {
    throw new InvalidKeyError(`${what} is not canonical base64 (non-zero padding bits)`);
  }
  return bytes;
}

/** Encodes bytes as lowercase hex. */
export function encodeHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Decodes an even-length hex string (either case). */
export function decodeHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidKeyError("not a valid hex string");
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
