/** The daemon's peer planning: membership and trust in, `wg` UAPI changes out. */

import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { decodeBase64Strict, encodeHex } from "../../lib/encoding/base64.ts";
import { MeshPeers } from "../../lib/daemon/mesh_peers.ts";
import { meshIpv4, meshIpv6 } from "../../lib/identity/mesh_address.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import type { MemberInfo, MemberState } from "../../lib/swim/events.ts";
import { NatType } from "../../lib/swim/records.ts";

function key(): Uint8Array {
  return ed25519.getPublicKey(ed25519.utils.randomSecretKey());
}

function member(publicKey: Uint8Array, state: MemberState, address: string | null): MemberInfo {
  return {
    publicKey,
    state,
    epoch: 1,
    incarnation: 0,
    endpoints: ["192.0.2.9:51821"],
    nat: NatType.Unknown,
    address,
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
    changes.uapi,
    `public_key=${wg}\nendpoint=192.0.2.2:51821\npersistent_keepalive_interval=25\n` +
      `replace_allowed_ips=true\nallowed_ip=${meshIpv4(alice)}/32\nallowed_ip=${
        meshIpv6(alice)
      }/128\n`,
  );
  assertTrue(changes.logs.some((line) => line.message.includes("peer alice")));
  // The same snapshot again changes nothing; a new address only moves the endpoint.
  assertEquals(table.onMember(member(alice, "alive", "192.0.2.2:51821")).uapi, "");
  assertEquals(
    table.onMember(member(alice, "alive", "198.51.100.7:4000")).uapi,
    `public_key=${wg}\nendpoint=198.51.100.7:4000\n`,
  );
  // Suspected stays; dead goes.
  assertEquals(table.onMember(member(alice, "suspect", "198.51.100.7:4000")).uapi, "");
  assertEquals(
    table.onMember(member(alice, "dead", "198.51.100.7:4000")).uapi,
    `public_key=${wg}\nremove=true\n`,
  );
});

Deno.test("mesh peers: untrusted members are ignored unless --open", () => {
  const stranger = key();
  const closed = new MeshPeers(key(), false);
  closed.setTrusted([]);
  assertEquals(closed.isTrusted(stranger), false);
  assertEquals(closed.onMember(member(stranger, "alive", "192.0.2.3:51821")).uapi, "");
  assertEquals(closed.peers().length, 0);
  const open = new MeshPeers(key(), true);
  open.setTrusted([]);
  assertTrue(open.isTrusted(stranger));
  assertIncludes(open.onMember(member(stranger, "alive", "192.0.2.3:51821")).uapi, "public_key=");
  assertEquals(open.peers()[0].name, `peer-${encodeHex(stranger).slice(0, 8)}`);
});

Deno.test("mesh peers: revoking trust removes the peer at once; renaming follows the file", () => {
  const bob = key();
  const table = new MeshPeers(key(), false);
  table.setTrusted([{ name: "bob", publicKey: bob }]);
  table.onMember(member(bob, "alive", "192.0.2.4:51821"));
  const renamed = table.setTrusted([{ name: "robert", publicKey: bob }]);
  assertEquals(renamed.uapi, "");
  assertEquals(table.peers()[0].name, "robert");
  const revoked = table.setTrusted([]);
  assertEquals(revoked.uapi, `public_key=${encodeHex(wireguardPublicKeyOf(bob))}\nremove=true\n`);
  assertEquals(table.peers().length, 0);
  assertEquals(table.isTrusted(bob), false);
  // Trusting again is logged even though the trust set had become empty.
  const back = table.setTrusted([{ name: "bob", publicKey: bob }]);
  assertTrue(back.logs.some((line) => line.message === "now trusting bob"));
});

Deno.test("mesh peers: an IPv4 collision goes to the smaller key on every node; IPv6 stays", () => {
  // Two valid keys whose BLAKE3 digests both map to 10.99.7.158 (found by search).
  const first = decodeBase64Strict("vVBcIqvOBfPOpupAl2H/8ICyi8r3VVLq5L3pqkvG4JE=");
  const second = decodeBase64Strict("Wt0RRevT6+kkbYVpCGNY97Ms09eOezE5XuW7KQBIetE=");
  assertEquals(meshIpv4(first), meshIpv4(second));
  const [small, large] = encodeHex(first) < encodeHex(second) ? [first, second] : [second, first];
  // Whatever order keys and members arrive in, the outcome is the same.
  for (const order of [[small, large], [large, small]]) {
    const table = new MeshPeers(key(), false);
    const trusted = table.setTrusted(order.map((publicKey, i) => ({ name: `n${i}`, publicKey })));
    assertTrue(
      trusted.logs.some((line) => line.level === "warn" && line.message.includes("7.158")),
    );
    const plans = order.map((publicKey) => table.onMember(member(publicKey, "alive", null)).uapi);
    const planOf = (publicKey: Uint8Array) => plans[order.indexOf(publicKey)];
    assertIncludes(planOf(small), "allowed_ip=10.99.7.158/32");
    assertEquals(planOf(large).includes("10.99.7.158"), false);
    assertIncludes(planOf(large), `allowed_ip=${meshIpv6(large)}/128`);
  }
  // A node whose own address collides keeps it: both peers lose the IPv4 route there.
  const table = new MeshPeers(small, false);
  table.setTrusted([{ name: "large", publicKey: large }]);
  assertEquals(table.onMember(member(large, "alive", null)).uapi.includes("10.99.7.158"), false);
});
