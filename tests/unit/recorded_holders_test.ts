/**
 * The recorded holders of mesh IPv4s and names stay bounded under --open churn: past the limit,
 * records of addresses and names nobody claims are forgotten, least recently seen first; a
 * present holder's record, and one that a waiting claimant would otherwise win, are never.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { Ipv4Claims } from "../../lib/daemon/ipv4_claims.ts";
import { MemberNames } from "../../lib/daemon/member_names.ts";
import { MeshPeers } from "../../lib/daemon/mesh_peers.ts";
import { RECORDED_HOLDERS_LIMIT } from "../../lib/daemon/recorded_holders.ts";
import { ed25519 } from "@noble/curves/ed25519.js";

const CHURN = RECORDED_HOLDERS_LIMIT + 2_000;
const key = (n: number) => {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, n);
  bytes[31] = 0xaa;
  return bytes;
};
/** A real Ed25519 public key (the peer table derives WireGuard keys from it). */
const publicKey = (n: number) => ed25519.getPublicKey(key(n));
const address = (n: number) => `10.99.${n >> 8}.${n & 255}`;

Deno.test("ipv4 holders: bounded under churn; present and contested records kept, the least recently seen go", () => {
  const claims = new Ipv4Claims("10.99.255.254", { releaseAbsent: false });
  // Present for the whole run, and an away holder with a newcomer waiting at its address.
  claims.add("present", address(1), 1);
  claims.add("away", address(2), 2);
  assertEquals(claims.decide(address(1)).holder, "present");
  assertEquals(claims.decide(address(2)).holder, "away");
  claims.remove("away", address(2));
  claims.add("waiting", address(2), 3);
  assertEquals(claims.decide(address(2)), { holder: "away", reason: "holder-absent" });
  let seq = 10;
  for (let i = 0; i < CHURN; i++) {
    const id = `m${i}`;
    const at = address(100 + i);
    claims.add(id, at, ++seq);
    claims.decide(at);
    claims.remove(id, at);
    assertTrue(claims.recordCount <= RECORDED_HOLDERS_LIMIT + 2, `${claims.recordCount} records`);
  }
  assertEquals(claims.recordCount, RECORDED_HOLDERS_LIMIT);
  assertEquals(claims.decide(address(1)), { holder: "present", reason: "first-seen" });
  assertEquals(claims.decide(address(2)), { holder: "away", reason: "holder-absent" });
  // The member that left last is still recorded: a newcomer at its address waits.
  const last = address(100 + CHURN - 1);
  claims.add("newcomer", last, ++seq);
  assertEquals(claims.decide(last), { holder: `m${CHURN - 1}`, reason: "holder-absent" });
  // The first to leave was forgotten: its address is free for whoever comes.
  const first = address(100);
  claims.add("other", first, ++seq);
  assertEquals(claims.decide(first), { holder: "other", reason: "first-seen" });
  assertEquals(claims.takeChangedRecords()!.size, RECORDED_HOLDERS_LIMIT);
});

Deno.test("name holders: bounded under churn; present and contested records kept, the least recently seen go", () => {
  const names = new MemberNames(key(0), "self.mesh");
  const [present, away, waiting] = [key(1), key(2), key(3)];
  names.claim(present, "keep.mesh", 1);
  names.claim(away, "wait.mesh", 2);
  names.settle();
  names.release(away);
  names.claim(waiting, "wait.mesh", 3);
  names.settle();
  assertEquals(names.nameOf(waiting), null);
  let seq = 10;
  for (let i = 0; i < CHURN; i++) {
    const member = key(100 + i);
    names.claim(member, `m${i}.mesh`, ++seq);
    names.settle();
    names.release(member);
    names.settle();
    assertTrue(names.recordCount <= RECORDED_HOLDERS_LIMIT + 2, `${names.recordCount} records`);
  }
  assertEquals(names.recordCount, RECORDED_HOLDERS_LIMIT);
  assertEquals(names.nameOf(present), "keep.mesh");
  assertEquals(names.decide("wait.mesh"), { holder: null, reason: "holder-absent" });
  const records = names.takeChangedRecords()!;
  assertEquals(records.get("wait.mesh"), encodeHex(away));
  assertEquals(records.get(`m${CHURN - 1}.mesh`), encodeHex(key(100 + CHURN - 1)));
  assertEquals(records.has("m0.mesh"), false);
});

Deno.test("--open peer table: thousands of members joining and leaving leave bounded holder files", () => {
  const peers = new MeshPeers(key(0), true, { selfName: "self.mesh" });
  const member = (publicKey: Uint8Array) =>
    ({
      publicKey,
      state: "alive",
      endpoints: [],
      verified: null,
      incarnation: 1,
    }) as unknown as Parameters<MeshPeers["onMember"]>[0];
  let last = new Uint8Array();
  for (let i = 0; i < CHURN; i++) {
    last = publicKey(100 + i);
    peers.onMember(member(last));
    peers.onMember(member(last), true);
  }
  assertTrue(peers.peers().length === 0, "members left behind");
  const ipv4 = peers.takeChangedRecords()!;
  const held = peers.names.takeChangedRecords()!;
  // Mesh IPv4s of random keys collide now and then, so fewer addresses than members.
  assertTrue(ipv4.size <= RECORDED_HOLDERS_LIMIT, `${ipv4.size} ipv4_holders records`);
  assertEquals(held.size, RECORDED_HOLDERS_LIMIT);
  assertEquals(held.get(`peer-${encodeHex(last).slice(0, 8)}.mesh`), encodeHex(last));
});
