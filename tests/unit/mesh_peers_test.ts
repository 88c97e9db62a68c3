/** The daemon's peer planning: membership and trust in, typed peer changes out. */

import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { decodeBase64Strict, encodeHex } from "../../lib/encoding/base64.ts";
import { MeshPeers } from "../../lib/daemon/mesh_peers.ts";
import { uapiText } from "../peer_change_text.ts";
import {
  meshIpv4,
  meshIpv4Bytes,
  meshIpv6,
  meshIpv6Bytes,
} from "../../lib/identity/mesh_address.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import type { MemberInfo, MemberState } from "../../lib/swim/events.ts";
import { NatType } from "../../lib/swim/records.ts";

function key(): Uint8Array {
  return ed25519.getPublicKey(ed25519.utils.randomSecretKey());
}

function member(
  publicKey: Uint8Array,
  state: MemberState,
  address: string | null,
  verified: string | null = address,
): MemberInfo {
  return {
    publicKey,
    state,
    epoch: 1,
    incarnation: 0,
    endpoints: ["192.0.2.9:51821"],
    nat: NatType.Unknown,
    address,
    verified,
  };
}

Deno.test("mesh peers: a trusted member becomes a WireGuard peer with its mesh /32 and /128", () => {
  const self = key();
  const alice = key();
  const table = new MeshPeers(self, false);
  table.setTrusted([{ name: "alice", publicKey: alice }]);
  const changes = table.onMember(member(alice, "alive", "192.0.2.2:51821"));
  const wg = encodeHex(wireguardPublicKeyOf(alice));
  assertEquals(
    uapiText(changes),
    `public_key=${wg}\nendpoint=192.0.2.2:51821\npersistent_keepalive_interval=25\n` +
      `replace_allowed_ips=true\nallowed_ip=${meshIpv4(alice)}/32\nallowed_ip=${
        meshIpv6(alice)
      }/128\n`,
  );
  assertTrue(changes.logs.some((line) => line.message.includes("peer alice")));
  // The same snapshot again changes nothing; a new address only moves the endpoint.
  assertEquals(uapiText(table.onMember(member(alice, "alive", "192.0.2.2:51821"))), "");
  assertEquals(
    uapiText(table.onMember(member(alice, "alive", "198.51.100.7:4000"))),
    `public_key=${wg}\nendpoint=198.51.100.7:4000\n`,
  );
  // Suspected stays; dead goes.
  assertEquals(uapiText(table.onMember(member(alice, "suspect", "198.51.100.7:4000"))), "");
  assertEquals(
    uapiText(table.onMember(member(alice, "dead", "198.51.100.7:4000"))),
    `public_key=${wg}\nremove=true\n`,
  );
});

Deno.test("mesh peers: changes are typed: upsert with endpoint, keepalive and the replacing routes; remove", () => {
  const alice = key();
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "alice", publicKey: alice }]);
  const wg = wireguardPublicKeyOf(alice);
  assertEquals(table.onMember(member(alice, "alive", "[2001:db8::7]:51821")).peers, [{
    kind: "upsert",
    publicKey: wg,
    endpoint: parseEndpoint("[2001:db8::7]:51821"),
    persistentKeepalive: 25,
    replaceAllowedIps: true,
    allowedIps: [
      { address: meshIpv4Bytes(alice), cidr: 32 },
      { address: meshIpv6Bytes(alice), cidr: 128 },
    ],
  }]);
  // A move changes the endpoint only; leaving removes the peer by its WireGuard key.
  assertEquals(table.onMember(member(alice, "alive", "192.0.2.8:1")).peers, [
    { kind: "upsert", publicKey: wg, endpoint: parseEndpoint("192.0.2.8:1") },
  ]);
  assertEquals(table.onMember(member(alice, "left", "192.0.2.8:1")).peers, [
    { kind: "remove", publicKey: wg },
  ]);
  // Gone is gone: a second report changes nothing.
  assertEquals(table.onMember(member(alice, "left", "192.0.2.8:1"), true).peers, []);
});

Deno.test("mesh peers: untrusted members are ignored unless --open", () => {
  const stranger = key();
  const closed = new MeshPeers(key(), false);
  closed.setTrusted([]);
  assertEquals(closed.isTrusted(stranger), false);
  assertEquals(uapiText(closed.onMember(member(stranger, "alive", "192.0.2.3:51821"))), "");
  assertEquals(closed.peers().length, 0);
  const open = new MeshPeers(key(), true);
  open.setTrusted([]);
  assertTrue(open.isTrusted(stranger));
  assertIncludes(
    uapiText(open.onMember(member(stranger, "alive", "192.0.2.3:51821"))),
    "public_key=",
  );
  assertEquals(open.peers()[0].name, `peer-${encodeHex(stranger).slice(0, 8)}`);
});

Deno.test("mesh peers: revoking trust removes the peer at once; renaming follows the file", () => {
  const bob = key();
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "bob", publicKey: bob }]);
  table.onMember(member(bob, "alive", "192.0.2.4:51821"));
  const renamed = table.setTrusted([{ name: "robert", publicKey: bob }]);
  assertEquals(uapiText(renamed), "");
  assertEquals(table.peers()[0].name, "robert");
  const revoked = table.setTrusted([]);
  assertEquals(
    uapiText(revoked),
    `public_key=${encodeHex(wireguardPublicKeyOf(bob))}\nremove=true\n`,
  );
  assertEquals(table.peers().length, 0);
  assertEquals(table.isTrusted(bob), false);
  // Trusting again is logged even though the trust set had become empty.
  const back = table.setTrusted([{ name: "bob", publicKey: bob }]);
  assertTrue(back.logs.some((line) => line.message === "now trusting bob"));
});

// Two valid keys whose BLAKE3 digests both map to 10.99.7.158 (found by search).
const COLLIDING = [
  decodeBase64Strict("vVBcIqvOBfPOpupAl2H/8ICyi8r3VVLq5L3pqkvG4JE="),
  decodeBase64Strict("Wt0RRevT6+kkbYVpCGNY97Ms09eOezE5XuW7KQBIetE="),
];
const CONTESTED = "10.99.7.158";
// The attacker's key sorts lower: under "bytewise smaller key wins" it took the address.
const [ATTACKER, ESTABLISHED] = encodeHex(COLLIDING[0]) < encodeHex(COLLIDING[1])
  ? COLLIDING
  : [COLLIDING[1], COLLIDING[0]];

/** The allowed IPs the UAPI body gives the WireGuard peer of `publicKey` (last `set` wins). */
function allowedIps(uapi: string, publicKey: Uint8Array): string[] | null {
  const header = `public_key=${encodeHex(wireguardPublicKeyOf(publicKey))}\n`;
  const at = uapi.lastIndexOf(header);
  if (at < 0) return null;
  const block = uapi.slice(at + header.length).split("public_key=")[0];
  return block.split("\n").filter((line) => line.startsWith("allowed_ip=")).map((line) =>
    line.slice("allowed_ip=".length)
  );
}

Deno.test("mesh peers: the colliding test keys share 10.99.7.158; the attacker's sorts lower", () => {
  assertEquals(meshIpv4(ATTACKER), CONTESTED);
  assertEquals(meshIpv4(ESTABLISHED), CONTESTED);
  assertTrue(encodeHex(ATTACKER) < encodeHex(ESTABLISHED));
});

Deno.test("mesh peers: --open, a newcomer with a colliding smaller key does not take the address", () => {
  const table = new MeshPeers(key(), true);
  table.setTrusted([]);
  const first = uapiText(table.onMember(member(ESTABLISHED, "alive", "192.0.2.5:51821")));
  assertEquals(allowedIps(first, ESTABLISHED), [`${CONTESTED}/32`, `${meshIpv6(ESTABLISHED)}/128`]);
  const attack = table.onMember(member(ATTACKER, "alive", "192.0.2.6:51821"));
  // The established member's peer is not touched; the newcomer gets its IPv6 only.
  assertEquals(allowedIps(uapiText(attack), ESTABLISHED), null);
  assertEquals(allowedIps(uapiText(attack), ATTACKER), [`${meshIpv6(ATTACKER)}/128`]);
  assertTrue(attack.logs.some((line) => line.level === "warn" && line.message.includes(CONTESTED)));
});

Deno.test("mesh peers: trusting a colliding smaller key later does not move the address", () => {
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "alice", publicKey: ESTABLISHED }]);
  const first = uapiText(table.onMember(member(ESTABLISHED, "alive", "192.0.2.5:51821")));
  assertEquals(allowedIps(first, ESTABLISHED), [`${CONTESTED}/32`, `${meshIpv6(ESTABLISHED)}/128`]);
  const trusted = table.setTrusted([
    { name: "alice", publicKey: ESTABLISHED },
    { name: "mallory", publicKey: ATTACKER },
  ]);
  assertEquals(allowedIps(uapiText(trusted), ESTABLISHED), null);
  const warning = trusted.logs.find((line) => line.level === "warn")?.message ?? "";
  assertIncludes(warning, `mesh IPv4 ${CONTESTED} stays with alice`);
  assertIncludes(warning, "mallory reachable over IPv6 only");
  const joined = uapiText(table.onMember(member(ATTACKER, "alive", "192.0.2.6:51821")));
  assertEquals(allowedIps(joined, ATTACKER), [`${meshIpv6(ATTACKER)}/128`]);
});

Deno.test("mesh peers: a restart keeps the recorded holder, whatever arrives first", () => {
  const before = new MeshPeers(key(), true);
  before.setTrusted([]);
  before.onMember(member(ESTABLISHED, "alive", null));
  before.onMember(member(ATTACKER, "alive", null));
  const records = before.takeChangedRecords()!;
  assertEquals(records.get(CONTESTED), encodeHex(ESTABLISHED));
  // --open after a restart: the newcomer shows up first and still gets IPv6 only.
  const open = new MeshPeers(key(), true);
  open.loadClaims(records);
  open.setTrusted([]);
  const early = uapiText(open.onMember(member(ATTACKER, "alive", null)));
  assertEquals(allowedIps(early, ATTACKER), [`${meshIpv6(ATTACKER)}/128`]);
  assertEquals(open.ipv4Conflicts()[0].reason, "holder-absent");
  const back = uapiText(open.onMember(member(ESTABLISHED, "alive", null)));
  assertEquals(allowedIps(back, ESTABLISHED), [`${CONTESTED}/32`, `${meshIpv6(ESTABLISHED)}/128`]);
  // Closed: both trusted in one load, the record decides.
  const closed = new MeshPeers(key(), false);
  closed.loadClaims(records);
  closed.setTrusted([
    { name: "mallory", publicKey: ATTACKER },
    { name: "alice", publicKey: ESTABLISHED },
  ]);
  const plans = [ATTACKER, ESTABLISHED].map((k) =>
    uapiText(closed.onMember(member(k, "alive", null)))
  );
  assertEquals(allowedIps(plans[0], ATTACKER), [`${meshIpv6(ATTACKER)}/128`]);
  assertEquals(allowedIps(plans[1], ESTABLISHED), [
    `${CONTESTED}/32`,
    `${meshIpv6(ESTABLISHED)}/128`,
  ]);
});

Deno.test("mesh peers: keys trusted together with no record: nobody gets the IPv4, both IPv6", () => {
  for (const order of [[ATTACKER, ESTABLISHED], [ESTABLISHED, ATTACKER]]) {
    const table = new MeshPeers(key(), false);
    table.setTrusted(order.map((publicKey, i) => ({ name: `n${i}`, publicKey })));
    for (const publicKey of order) {
      const plan = uapiText(table.onMember(member(publicKey, "alive", null)));
      assertEquals(allowedIps(plan, publicKey), [`${meshIpv6(publicKey)}/128`]);
    }
    const [conflict] = table.ipv4Conflicts();
    assertEquals(conflict.reason, "undecided");
    assertEquals(conflict.holder, null);
    assertEquals(conflict.ipv6_only.length, 2);
  }
});

Deno.test("mesh peers: the admin's pin moves the address; revoking the holder releases it", () => {
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "alice", publicKey: ESTABLISHED }]);
  table.setTrusted([
    { name: "alice", publicKey: ESTABLISHED },
    { name: "mallory", publicKey: ATTACKER },
  ]);
  table.onMember(member(ESTABLISHED, "alive", null));
  table.onMember(member(ATTACKER, "alive", null));
  const pinned = table.setPins(new Map([[CONTESTED, encodeHex(ATTACKER)]]));
  assertEquals(allowedIps(uapiText(pinned), ATTACKER), [
    `${CONTESTED}/32`,
    `${meshIpv6(ATTACKER)}/128`,
  ]);
  assertEquals(allowedIps(uapiText(pinned), ESTABLISHED), [`${meshIpv6(ESTABLISHED)}/128`]);
  assertEquals(table.ipv4Conflicts()[0].reason, "pinned");
  assertEquals(table.ipv4Conflicts()[0].holder?.name, "mallory");
  // Unpinning gives it back to the recorded holder.
  const unpinned = table.setPins(new Map());
  assertEquals(allowedIps(uapiText(unpinned), ESTABLISHED), [
    `${CONTESTED}/32`,
    `${meshIpv6(ESTABLISHED)}/128`,
  ]);
  // Revoking the holder releases the address to the key still trusted, and records it.
  const revoked = table.setTrusted([{ name: "mallory", publicKey: ATTACKER }]);
  assertEquals(allowedIps(uapiText(revoked), ATTACKER), [
    `${CONTESTED}/32`,
    `${meshIpv6(ATTACKER)}/128`,
  ]);
  assertEquals(table.takeChangedRecords()?.get(CONTESTED), encodeHex(ATTACKER));
});

Deno.test("mesh peers: this node's own address stays its own", () => {
  const table = new MeshPeers(ATTACKER, true);
  table.setTrusted([{ name: "alice", publicKey: ESTABLISHED }]);
  table.setPins(new Map([[CONTESTED, encodeHex(ESTABLISHED)]]));
  const plan = uapiText(table.onMember(member(ESTABLISHED, "alive", null)));
  assertEquals(allowedIps(plan, ESTABLISHED), [`${meshIpv6(ESTABLISHED)}/128`]);
  assertEquals(table.ipv4Conflicts()[0].reason, "own-address");
});

Deno.test("mesh peers: --open admits at most maxMembers untrusted members, counts refusals", () => {
  const friend = key();
  const table = new MeshPeers(key(), true, { maxMembers: 2 });
  table.setTrusted([{ name: "friend", publicKey: friend }]);
  const [a, b, c, d] = [key(), key(), key(), key()];
  // Membership may list several newcomers before their events reach the table.
  for (const k of [a, b, c]) assertTrue(table.isTrusted(k));
  for (const k of [a, b]) {
    assertIncludes(uapiText(table.onMember(member(k, "alive", null))), "public_key=");
  }
  assertEquals(uapiText(table.onMember(member(c, "alive", null))), "");
  assertTrue(table.takeOverflow());
  assertEquals(table.isTrusted(c), false);
  assertEquals(table.isTrusted(d), false);
  assertEquals(table.refusedMembers, 2);
  assertEquals(table.maxMembers, 2);
  const notices = table.drainNotices().logs;
  assertEquals(notices.length, 1, "the 1st refusal is logged, the 2nd is only counted");
  assertIncludes(notices[0].message, "--max-members 2 reached");
  // Trusted keys never count against the cap; a departure frees a place.
  assertTrue(table.isTrusted(friend));
  assertIncludes(uapiText(table.onMember(member(friend, "alive", null))), "public_key=");
  table.onMember(member(a, "dead", null));
  table.onMember(member(a, "dead", null), true);
  assertTrue(table.isTrusted(d));
  assertEquals(new MeshPeers(key(), false).maxMembers, null);
});

Deno.test("mesh peers: an endpoint is configured only once membership verified it (no reflection)", () => {
  const alice = key();
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "alice", publicKey: alice }]);
  // Alice advertises (or spoofs) 203.0.113.7, which never answered a ping: no endpoint at all.
  const first = table.onMember(member(alice, "alive", "203.0.113.7:51821", null));
  assertIncludes(uapiText(first), `public_key=${encodeHex(wireguardPublicKeyOf(alice))}\n`);
  assertTrue(!uapiText(first).includes("endpoint="), uapiText(first));
  assertTrue(!first.logs.some((line) => line.message.includes("203.0.113.7")), "victim logged");
  // Her real address answers our ping: that one becomes the endpoint.
  const second = table.onMember(member(alice, "alive", "192.0.2.2:51821", "192.0.2.2:51821"));
  // …and the keepalive is restarted so that a handshake starts at once: the endpoint and
  // keepalive 0 first, then keepalive 25 in a second change (turning it on sends one now).
  const wg = wireguardPublicKeyOf(alice);
  assertEquals(second.peers, [
    {
      kind: "upsert",
      publicKey: wg,
      endpoint: parseEndpoint("192.0.2.2:51821"),
      persistentKeepalive: 0,
    },
    { kind: "upsert", publicKey: wg, persistentKeepalive: 25 },
  ]);
  // A later unproven source does not move the endpoint.
  const third = table.onMember(member(alice, "alive", "203.0.113.7:51821", "192.0.2.2:51821"));
  assertEquals(uapiText(third), "");
});
