/**
 * Org formats byte for byte against layouts built here by hand from the spec (§3.3, §5.6):
 * v1/v2/delegated certificates, grants, revocations and vouches; every field's boundary
 * (expiry now and 0 = never, all-zero wg key, truncated and oversized input, flags, names).
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertThrows, assertTrue } from "../assert.ts";
import {
  certificateFileBytes,
  decodeCertificate,
  signCertificate,
  signDelegatedCertificate,
} from "../../lib/org/certificate.ts";
import { decodeGrant, encodeGrant, GRANT_BYTES, signGrant } from "../../lib/org/delegation.ts";
import {
  decodeOrgControl,
  decodeOrgControlFile,
  signOrgControl,
  verifyOrgControl,
  vouchFileBytes,
} from "../../lib/org/org_messages.ts";
import { OrgFormatError } from "../../lib/org/org_errors.ts";
import { type CertificateContext, certificateProblem } from "../../lib/org/certificate_check.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { formatUnix, parseExpiry } from "../../lib/org/expiry.ts";

const ORG_SEED = new Uint8Array(32).fill(7);
const ORG = ed25519.getPublicKey(ORG_SEED);
const NODE_SEED = new Uint8Array(32).fill(9);
const NODE = ed25519.getPublicKey(NODE_SEED);
const ISSUER_SEED = new Uint8Array(32).fill(11);
const ISSUER = ed25519.getPublicKey(ISSUER_SEED);
const WG = wireguardPublicKeyOf(NODE);
const ISSUED = 1_760_000_000;
const EXPIRES = 1_800_000_000;

function le64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(value), true);
  return out;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function nameField(name: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(new TextEncoder().encode(name));
  return out;
}

/** version ‖ org ‖ node ‖ name ‖ issued ‖ expires ‖ flags: the first 114 bytes. */
function head(version: number, flags: number, expires = EXPIRES): Uint8Array {
  return concat([version], ORG, NODE, nameField("web-1"), le64(ISSUED), le64(expires), [flags]);
}

const context = (now: number, revoked: Uint8Array[] = []): CertificateContext => ({
  now,
  isTrustedOrg: (key) => key.every((byte, i) => byte === ORG[i]),
  isRevoked: (_org, node) => revoked.some((key) => key.every((byte, i) => byte === node[i])),
});

Deno.test("org format: a v1 certificate is the spec's 186 bytes, signed over [0,114) by the org", () => {
  const signed = head(1, 0);
  const expected = concat(signed, ed25519.sign(signed, ORG_SEED), new Uint8Array(8));
  const cert = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "web-1",
    issuedAt: ISSUED,
    expiresAt: EXPIRES,
  });
  assertEquals(cert.bytes, expected);
  assertEquals(cert.bytes.length, 186);
  // The original's 314-byte file (zero-padded) decodes to the same certificate.
  const file = certificateFileBytes(cert);
  assertEquals(file.length, 314);
  assertEquals(decodeCertificate(file).bytes, expected);
  const decoded = decodeCertificate(expected);
  assertEquals([decoded.version, decoded.name, decoded.issuedAt, decoded.expiresAt], [
    1,
    "web-1",
    ISSUED,
    EXPIRES,
  ]);
  assertEquals(certificateProblem(decoded, context(ISSUED), NODE), null);
});

Deno.test("org format: a v2 direct certificate is 314 bytes, signed over [0,114) ‖ wg ‖ issuer", () => {
  const signed = head(2, 0);
  const payload = concat(signed, WG, new Uint8Array(32));
  const expected = concat(
    signed,
    ed25519.sign(payload, ORG_SEED),
    new Uint8Array(8),
    WG,
    new Uint8Array(32),
    new Uint8Array(64),
  );
  const cert = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "web-1",
    issuedAt: ISSUED,
    expiresAt: EXPIRES,
    wgKey: WG,
  });
  assertEquals(cert.bytes, expected);
  assertEquals(certificateProblem(cert, context(ISSUED), NODE), null);
});

Deno.test("org format: a delegated v2 certificate and its grant match the spec's layouts", () => {
  const grantPayload = concat([2], ORG, ISSUER, le64(EXPIRES), [1]);
  assertEquals(grantPayload.length, 74);
  const grantSignature = ed25519.sign(grantPayload, ORG_SEED);
  const grant = signGrant(ORG_SEED, ISSUER, EXPIRES);
  assertEquals(encodeGrant(grant), concat(grantPayload, grantSignature));
  assertEquals(encodeGrant(grant).length, GRANT_BYTES);
  assertEquals(decodeGrant(encodeGrant(grant)).issuerKey, ISSUER);
  const signed = head(2, 1);
  const payload = concat(signed, WG, ISSUER);
  const expected = concat(
    signed,
    ed25519.sign(payload, ISSUER_SEED),
    new Uint8Array(8),
    WG,
    ISSUER,
    grantSignature,
  );
  const cert = signDelegatedCertificate(ISSUER_SEED, grant, {
    nodeKey: NODE,
    name: "web-1",
    issuedAt: ISSUED,
    wgKey: WG,
  });
  assertEquals(cert.bytes, expected);
  assertEquals(certificateProblem(cert, context(ISSUED), NODE), null);
  // Revoking the issuer revokes what it signed; a forged grant signature is refused.
  assertEquals(certificateProblem(cert, context(ISSUED, [ISSUER]), NODE), "issuer-revoked");
  const forged = expected.slice();
  forged[250] ^= 1;
  assertEquals(
    certificateProblem(decodeCertificate(forged), context(ISSUED), NODE),
    "bad-delegation",
  );
  // A tampered grant file is refused with its reason.
  const badGrant = encodeGrant(grant);
  badGrant[40] ^= 1;
  assertThrows(() => decodeGrant(badGrant), OrgFormatError, /bad org signature/);
  assertThrows(() => decodeGrant(badGrant.subarray(1)), OrgFormatError, /138 bytes, got 137/);
  assertThrows(() => signGrant(ORG_SEED, ISSUER, 0), OrgFormatError, /expiry/);
});

Deno.test("org format: validity boundaries: expiry now is expired, 0 never expires", () => {
  const cert = (expiresAt: number) =>
    signCertificate(ORG_SEED, { nodeKey: NODE, name: "a", issuedAt: ISSUED, expiresAt });
  assertEquals(certificateProblem(cert(EXPIRES), context(EXPIRES - 1), NODE), null);
  assertEquals(certificateProblem(cert(EXPIRES), context(EXPIRES), NODE), "expired");
  assertEquals(certificateProblem(cert(0), context(Number.MAX_SAFE_INTEGER), NODE), null);
  assertEquals(certificateProblem(cert(0), context(ISSUED), ORG), "wrong-node");
  assertEquals(certificateProblem(cert(0), context(ISSUED, [NODE]), NODE), "revoked");
  const untrusting = { ...context(ISSUED), isTrustedOrg: () => false };
  assertEquals(certificateProblem(cert(0), untrusting, NODE), "org-not-trusted");
  const tampered = cert(0).bytes.slice();
  tampered[65] = "b".charCodeAt(0);
  assertEquals(
    certificateProblem(decodeCertificate(tampered), context(ISSUED), NODE),
    "bad-signature",
  );
});

Deno.test("org format: every malformed certificate is refused with a one-line reason", () => {
  const v2 = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "web-1",
    issuedAt: ISSUED,
    expiresAt: 0,
    wgKey: WG,
  }).bytes;
  const cases: [Uint8Array, RegExp][] = [
    [v2.subarray(0, 185), /186 \(v1\) or 314 \(v2\) bytes, got 185/],
    [concat(v2, [0]), /got 315/],
    [new Uint8Array(0), /got 0/],
    [concat([3], v2.subarray(1)), /version 3/],
    [v2.subarray(0, 186), /a v2 certificate is 314 bytes/],
  ];
  const zeroWg = v2.slice();
  zeroWg.fill(0, 186, 218);
  cases.push([zeroWg, /wg key is all zero/]);
  const badName = v2.slice();
  badName[65] = "A".charCodeAt(0);
  cases.push([badName, /not a DNS label/]);
  const afterNul = v2.slice();
  afterNul[80] = 0x61;
  cases.push([afterNul, /after its NUL/]);
  const flags = v2.slice();
  flags[113] = 0x80;
  cases.push([flags, /unknown bits/]);
  const padding = v2.slice();
  padding[180] = 1;
  cases.push([padding, /padding/]);
  const negative = v2.slice();
  negative.set(le64(-5), 105);
  cases.push([negative, /negative/]);
  const directWithIssuer = v2.slice();
  directWithIssuer[220] = 1;
  cases.push([directWithIssuer, /non-zero issuer/]);
  for (const [bytes, pattern] of cases) {
    assertThrows(() => decodeCertificate(bytes), OrgFormatError, pattern);
  }
  // A v2 whose wg key is not the node's derived key decodes, but admits nobody.
  const otherWg = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "x",
    issuedAt: ISSUED,
    expiresAt: 0,
    wgKey: wireguardPublicKeyOf(ORG),
  });
  assertEquals(certificateProblem(otherWg, context(ISSUED), NODE), "wg-key-mismatch");
  // Signing refuses what it could not encode.
  const fields = { nodeKey: NODE, issuedAt: ISSUED, expiresAt: 0 };
  assertThrows(
    () => signCertificate(ORG_SEED, { ...fields, name: "x".repeat(33) }),
    OrgFormatError,
    /32 characters/,
  );
  assertThrows(
    () => signCertificate(ORG_SEED, { ...fields, name: "Web" }),
    OrgFormatError,
    /DNS label/,
  );
  assertThrows(
    () => signCertificate(ORG_SEED, { ...fields, name: "a", wgKey: new Uint8Array(32) }),
    OrgFormatError,
    /all zero/,
  );
});

Deno.test("org format: revocation (138) and vouch (137; file 136) match §5.6; signatures skip org_pk", () => {
  const lamport = 1_765_000_000;
  const revokeSigned = concat(NODE, [1], le64(lamport));
  const revoke = signOrgControl(ORG_SEED, "revoke", NODE, lamport, 1);
  assertEquals(
    revoke.bytes,
    concat([0x42], ORG, NODE, [1], le64(lamport), ed25519.sign(revokeSigned, ORG_SEED)),
  );
  assertTrue(verifyOrgControl(decodeOrgControl(revoke.bytes)));
  const vouchSigned = concat(NODE, le64(lamport));
  const vouch = signOrgControl(ORG_SEED, "vouch", NODE, lamport);
  const wire = concat([0x43], ORG, NODE, le64(lamport), ed25519.sign(vouchSigned, ORG_SEED));
  assertEquals(vouch.bytes, wire);
  assertEquals(vouchFileBytes(vouch), wire.subarray(1));
  assertEquals(decodeOrgControlFile(wire.subarray(1), "vouch").bytes, wire);
  assertEquals(decodeOrgControlFile(revoke.bytes, "revoke").lamport, lamport);
  // Tampering anywhere the signature covers is caught; swapping org_pk is caught by the key.
  for (const at of [40, 65, 70]) {
    const bad = revoke.bytes.slice();
    bad[at] ^= 1;
    assertTrue(!verifyOrgControl(decodeOrgControl(bad)), `byte ${at} not covered`);
  }
  const swapped = revoke.bytes.slice();
  swapped.set(ISSUER, 1);
  assertTrue(!verifyOrgControl(decodeOrgControl(swapped)), "another org's key verified");
  assertThrows(
    () => decodeOrgControl(revoke.bytes.subarray(0, 137)),
    OrgFormatError,
    /138 bytes, got 137/,
  );
  assertThrows(
    () => decodeOrgControl(concat(vouch.bytes, [0])),
    OrgFormatError,
    /137 bytes, got 138/,
  );
  assertThrows(
    () => decodeOrgControl(concat([0x41], revoke.bytes.subarray(1))),
    OrgFormatError,
    /tag 0x41/,
  );
  const reason = revoke.bytes.slice();
  reason[65] = 3;
  assertThrows(() => decodeOrgControl(reason), OrgFormatError, /reason 3/);
  assertThrows(
    () => decodeOrgControlFile(vouch.bytes, "revoke"),
    OrgFormatError,
    /vouch in the revoke/,
  );
});

Deno.test("org format: --expires takes RFC 3339, unix seconds, durations and never; refuses the past", () => {
  const now = 1_767_225_600; // 2026-01-01T00:00:00Z
  assertEquals(parseExpiry("never", now), 0);
  assertEquals(parseExpiry("0", now), 0);
  assertEquals(parseExpiry("90d", now), now + 90 * 86_400);
  assertEquals(parseExpiry("12h", now), now + 43_200);
  assertEquals(parseExpiry("2027-01-01", now), 1_798_761_600);
  assertEquals(parseExpiry("2027-01-01T01:00:00+01:00", now), 1_798_761_600);
  assertEquals(parseExpiry("1798761600", now), 1_798_761_600);
  assertEquals(formatUnix(1_798_761_600), "2027-01-01T00:00:00Z");
  assertThrows(() => parseExpiry(String(now), now), OrgFormatError, /not in the future/);
  assertThrows(() => parseExpiry("2025-13-45", now), OrgFormatError, /not a valid date|future/);
  assertThrows(() => parseExpiry("soon", now), OrgFormatError, /RFC 3339/);
  assertThrows(() => parseExpiry("-5", now), OrgFormatError, /RFC 3339/);
});
