/**
 * Ed25519 signatures of benchmark reports with the node's meshguard identity, over the
 * canonical bytes of `benchmark_report.ts` (synchronous, so the controller core stays sans-IO).
 */

import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import { type BenchmarkReport, canonicalReportBytes } from "./benchmark_report.ts";
import { ed25519Signer, ed25519Verify } from "./ed25519_keys.ts";

/** A signer holding the identity in a native key object (the caller may wipe its seed). */
export function reportSigner(seed: Uint8Array): (report: BenchmarkReport) => BenchmarkReport {
  const sign = ed25519Signer(seed);
  return (report) => {
    const unsigned = { ...report };
    delete unsigned.signature;
    return { ...unsigned, signature: encodeBase64(sign(canonicalReportBytes(unsigned))) };
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
  return ed25519Verify(publicKey, canonicalReportBytes(report), signature);
}
