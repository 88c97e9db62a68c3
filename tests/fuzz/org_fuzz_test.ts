/**
 * Fuzz targets for the org formats a node reads from disk and from the network: certificates
 * (node.cert, an Alive record's certificate) and revocation / vouch messages. Only
 * OrgFormatError may escape, and what is accepted re-encodes to the bytes it came from.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { OrgFormatError } from "../../lib/org/org_errors.ts";
import { decodeCertificate, signCertificate } from "../../lib/org/certificate.ts";
import { decodeOrgControl, signOrgControl } from "../../lib/org/org_messages.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { ensure, Mutator, runFuzz, startFuzz } from "./fuzz_kit.ts";

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

Deno.test("fuzz org certificates and control messages: only OrgFormatError, accepted is exact", () => {
  const run = startFuzz("org-formats");
  const org = run.rng.bytes(32);
  const node = ed25519.getPublicKey(run.rng.bytes(32));
  const fields = { nodeKey: node, name: "web-1", issuedAt: 1_760_000_000, expiresAt: 0 };
  const v1 = signCertificate(org, fields).bytes;
  const padded = new Uint8Array(314);
  padded.set(v1);
  const seeds = [
    v1,
    padded,
    signCertificate(org, { ...fields, wgKey: wireguardPublicKeyOf(node) }).bytes,
    signOrgControl(org, "revoke", node, 1_765_000_000, 1).bytes,
    signOrgControl(org, "vouch", node, 7).bytes,
  ];
  const mutator = new Mutator(run.rng, { maxLength: 400, dictionary: [] });
  const outcomes = runFuzz("org-formats", run, () => mutator.next(seeds), (bytes) => {
    let accepted = 0;
    try {
      const cert = decodeCertificate(bytes);
      const exact = same(cert.bytes, bytes) ||
        (cert.version === 1 && same(cert.bytes, bytes.subarray(0, 186)));
      ensure(exact, "an accepted certificate does not re-encode to its bytes");
      accepted++;
    } catch (error) {
      if (!(error instanceof OrgFormatError)) throw error;
    }
    try {
      const message = decodeOrgControl(bytes);
      ensure(same(message.bytes, bytes), "an accepted org message is not its bytes");
      accepted++;
    } catch (error) {
      if (!(error instanceof OrgFormatError)) throw error;
    }
    return accepted > 0 ? "accepted" : "refused";
  });
  ensure((outcomes.get("accepted") ?? 0) > 100, "too few inputs accepted");
  ensure((outcomes.get("refused") ?? 0) > 10_000, "too few inputs refused");
});
