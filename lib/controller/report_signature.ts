/**
 * Ed25519 signatures of benchmark reports with the node's meshguard identity (synchronous,
 * native `node:crypto`, so the controller core stays sans-IO).
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { decodeBase64Strict, decodeHex, encodeBase64 } from "../encoding/base64.ts";
import { type BenchmarkReport, canonicalReportBytes } from "./benchmark_report.ts";

const ED25519_PKCS8 = decodeHex("302e020100300506032b657004220420");
const ED25519_SPKI = decodeHex("302a300506032b6570032100");

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** A signer holding the identity in a native key object (the caller may wipe its seed). */
export function reportSigner(seed: Uint8Array): (report: BenchmarkReport) => BenchmarkReport {
  const pkcs8 = der(ED25519_PKCS8, seed);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  pkcs8.fill(0);
  return (report) => {
    const unsigned = { ...report };
    delete unsigned.signature;
    const signature = new Uint8Array(sign(null, canonicalReportBytes(unsigned), key));
    return { ...unsigned, signature: encodeBase64(signature) };
  };
}

/** Returns the report with `signature` set, signed by the 32-byte identity seed. */
export function signReport(report: BenchmarkReport, seed: Uint8Array): BenchmarkReport {
  return reportSigner(seed)(report);
}

/** True when the report carries a valid signature by `publicKey` (32 bytes). */
export function verifyReportSignature(report: BenchmarkReport, publicKey: Uint8Array): boolean {
  if (report.signature === undefined) return false;
  let signature: Uint8Array;
  try {
    signature = decodeBase64Strict(report.signature, "signature");
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  try {
    const key = createPublicKey({ key: der(ED25519_SPKI, publicKey), format: "der", type: "spki" });
    return verify(null, canonicalReportBytes(report), key, signature);
  } catch {
    return false;
  }
}
