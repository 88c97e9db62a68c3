/**
 * OrgTrust, the sans-IO admission state: decisions ordered by lamport (an old one never undoes
 * a newer one, in either arrival order; a revocation wins a tie), only trusted orgs' and
 * correctly signed decisions count, certificates admit until they expire or are revoked, and
 * the alive record carries a certificate (ALIVE_FLAG_CERT) byte-exactly.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertThrows, assertTrue } from "../assert.ts";
import { signCertificate } from "../../lib/org/certificate.ts";
import { signOrgControl } from "../../lib/org/org_messages.ts";
import { OrgTrust } from "../../lib/org/org_trust.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import {
  ALIVE_FLAG_CERT,
  type AliveRecord,
  makeAliveRecord,
  NatType,
  readItem,
} from "../../lib/swim/records.ts";
import { SwimDecodeError } from "../../lib/swim/swim_errors.ts";
import {
  decodeHelloCookie,
  encodeHello,
  encodeHelloCookie,
  HELLO_COOKIE_MESSAGE_BYTES,
} from "../../lib/swim/hello.ts";

const ORG_SEED = new Uint8Array(32).fill(3);
const ORG = ed25519.getPublicKey(ORG_SEED);
const OTHER_SEED = new Uint8Array(32).fill(4);
const NODE_SEED = new Uint8Array(32).fill(5);
const NODE = ed25519.getPublicKey(NODE_SEED);
const T0 = 1_770_000_000;

function trust(clock: { now: number }): OrgTrust {
  const org = new OrgTrust(() => clock.now);
  org.setTrustedOrgs([ORG]);
  return org;
}

Deno.test("org trust: per (org, node) the highest lamport wins, whatever the arrival order", () => {
  const revoke = (lamport: number) => signOrgControl(ORG_SEED, "revoke", NODE, lamport, 2);
  const vouch = (lamport: number) => signOrgControl(ORG_SEED, "vouch", NODE, lamport);
  const clock = { now: T0 };
  const a = trust(clock);
  assertEquals(a.applyControl(vouch(10)), "applied");
  assertEquals(a.applyControl(revoke(9)), "stale");
  assertTrue(a.isAdmitted(NODE), "an older revocation undid a vouch");
  assertEquals(a.applyControl(revoke(10)), "applied", "a revocation wins a tie");
  assertTrue(!a.isAdmitted(NODE));
  assertEquals(a.applyControl(vouch(10)), "stale");
  assertEquals(a.applyControl(revoke(10)), "stale", "a replay applies twice");
  const b = trust(clock);
  assertEquals(b.applyControl(revoke(12)), "applied");
  assertEquals(b.applyControl(vouch(11)), "stale");
  assertTrue(!b.isAdmitted(NODE) && b.isRevokedByAny(NODE));
  assertEquals(b.applyControl(vouch(13)), "applied");
  assertTrue(b.isAdmitted(NODE), "a newer vouch did not re-admit");
  // Another org's word counts for nothing; a forged signature neither.
  assertEquals(b.applyControl(signOrgControl(OTHER_SEED, "revoke", NODE, 99)), "untrusted-org");
  // A rate limit asked before the signature check keeps the message out until it allows.
  assertEquals(b.applyControl(revoke(40), () => false), "rate-limited");
  assertTrue(b.isAdmitted(NODE));
  const forged = revoke(50);
  forged.signature[0] ^= 1;
  assertEquals(b.applyControl(forged), "bad-signature");
  assertTrue(b.isAdmitted(NODE));
  // Trusting no org: nothing is admitted, nothing counts as revoked.
  b.setTrustedOrgs([]);
  assertTrue(!b.isAdmitted(NODE) && !b.isRevokedByAny(NODE));
  assertEquals(b.controls().length, 0);
});

Deno.test("org trust: a certificate admits until it expires or its node is revoked", () => {
  const clock = { now: T0 };
  const org = trust(clock);
  const cert = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "db",
    issuedAt: T0,
    expiresAt: T0 + 60,
  }).bytes;
  assertEquals(org.precheck(ORG, cert), "wrong-node");
  assertEquals(org.precheck(NODE, cert.subarray(1)), "malformed");
  assertTrue(!org.isAdmitted(NODE));
  assertEquals(org.admitCertificate(NODE, cert), null);
  assertTrue(org.isAdmitted(NODE));
  assertEquals(org.takeExpired(), false);
  clock.now = T0 + 59;
  assertTrue(org.isAdmitted(NODE));
  clock.now = T0 + 60;
  assertTrue(!org.isAdmitted(NODE), "admitted at its expiry second");
  assertEquals(org.takeExpired(), true);
  assertEquals(org.takeExpired(), false, "an expiry is reported once");
  assertEquals(org.admitCertificate(NODE, cert), "expired");
  // A fresh certificate, then a revocation of the node.
  const renewed = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "db",
    issuedAt: T0 + 61,
    expiresAt: 0,
  }).bytes;
  assertEquals(org.admitCertificate(NODE, renewed), null);
  assertEquals(org.applyControl(signOrgControl(ORG_SEED, "revoke", NODE, T0)), "applied");
  assertTrue(!org.isAdmitted(NODE));
  assertEquals(org.admitCertificate(NODE, renewed), "revoked", "the same certificate came back");
});

Deno.test("org trust: an alive record carries the certificate (flag 0x02, u16 length) byte-exactly", () => {
  const crypto = createSwimCrypto(NODE_SEED, NODE);
  const cert = signCertificate(ORG_SEED, { nodeKey: NODE, name: "db", issuedAt: T0, expiresAt: 0 })
    .bytes;
  const endpoint = "192.0.2.7:51821";
  const record = makeAliveRecord(crypto, 5, 1, NatType.Public, [endpoint], 0, cert);
  assertEquals(record.flags & ALIVE_FLAG_CERT, ALIVE_FLAG_CERT);
  // kind, length, subject, epoch, incarnation, nat, flags, count, endpoint(7), cert length, cert, sig
  const certAt = 3 + 32 + 8 + 4 + 3 + 7;
  assertEquals(record.bytes.length, certAt + 2 + 186 + 64);
  assertEquals([record.bytes[certAt], record.bytes[certAt + 1]], [186, 0]);
  assertEquals(record.bytes.subarray(certAt + 2, certAt + 2 + 186), cert);
  const item = readItem(record.bytes, 0).item as AliveRecord;
  assertEquals(item.kind, 1);
  assertEquals(item.certificate, cert);
  // Without a certificate the flag is clear and nothing follows the endpoints.
  const plain = makeAliveRecord(crypto, 5, 1, NatType.Public, [endpoint], ALIVE_FLAG_CERT, null);
  assertEquals(plain.flags & ALIVE_FLAG_CERT, 0);
  assertEquals((readItem(plain.bytes, 0).item as AliveRecord).certificate, null);
  // A certificate length that does not end the record exactly is malformed.
  const bad = record.bytes.slice();
  bad[certAt] = 185;
  assertThrows(() => readItem(bad, 0), SwimDecodeError, /certificate size/);
  assertThrows(
    () => makeAliveRecord(crypto, 5, 1, NatType.Public, [], 0, new Uint8Array(315)),
    RangeError,
  );
});

Deno.test("org trust: a seed's HelloCookie carries its certificate only when it stays smaller than the Hello", () => {
  const crypto = createSwimCrypto(NODE_SEED, NODE);
  const cert = signCertificate(ORG_SEED, {
    nodeKey: NODE,
    name: "db",
    issuedAt: T0,
    expiresAt: 0,
    wgKey: wireguardPublicKeyOf(NODE),
  }).bytes;
  const cookie = new Uint8Array(16).fill(1);
  const small = encodeHello(crypto, 5, 1, makeAliveRecord(crypto, 5, 0, NatType.Public, []));
  const large = encodeHello(
    crypto,
    5,
    1,
    makeAliveRecord(crypto, 5, 0, NatType.Public, [], 0, cert),
  );
  const bare = encodeHelloCookie(ORG, 9, 5, cookie, small, cert);
  assertEquals(bare.length, HELLO_COOKIE_MESSAGE_BYTES);
  assertEquals(decodeHelloCookie(bare).certificate, null);
  const carrying = encodeHelloCookie(ORG, 9, 5, cookie, large, cert);
  assertTrue(carrying.length < large.length, "the answer outgrew the Hello");
  assertEquals(decodeHelloCookie(carrying).certificate, cert);
  assertEquals(decodeHelloCookie(carrying).cookie, cookie);
  assertThrows(() => decodeHelloCookie(carrying.subarray(0, carrying.length - 1)), SwimDecodeError);
  assertThrows(() => decodeHelloCookie(carrying.subarray(0, 100)), SwimDecodeError);
});
