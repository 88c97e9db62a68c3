/** Which members a node asks for STUN by default, and which addresses look public. */

import { chooseMemberServers } from "../../lib/daemon/node_stun.ts";
import { isPublicLooking } from "../../lib/stun/public_address.ts";
import type { MemberInfo } from "../../lib/swim/events.ts";
import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";
import { assertEquals } from "../assert.ts";

function member(key: number, verified: string | null, state: MemberInfo["state"] = "alive") {
  return {
    publicKey: new Uint8Array(32).fill(key),
    state,
    epoch: 1,
    incarnation: 0,
    endpoints: [],
    nat: 3,
    address: verified,
    verified,
  } as MemberInfo;
}

const trustAllBut = (untrusted: number) => (key: Uint8Array) => key[0] !== untrusted;

Deno.test("member STUN servers: alive, trusted, verified, public-looking, not ours, distinct IPs, two", () => {
  const members = [
    member(1, "198.51.100.1:51821"),
    member(2, "198.51.100.1:51822"), // same IP as 1
    member(3, "192.0.2.9:51821", "suspect"),
    member(4, null), // never verified
    member(5, "10.99.0.5:51821"), // private
    member(6, "203.0.113.6:51821"), // not trusted
    member(7, "192.0.2.1:51821"), // ours
    member(8, "[2001:db8::8]:51821"),
    member(9, "203.0.113.9:51821"),
  ];
  const own = new Set(["192.0.2.1:51821"]);
  assertEquals(chooseMemberServers(members, trustAllBut(6), own), [
    "198.51.100.1:51821",
    "203.0.113.9:51821",
  ]);
  assertEquals(chooseMemberServers(members, trustAllBut(6), own, 4), [
    "198.51.100.1:51821",
    "203.0.113.9:51821",
    "[2001:db8::8]:51821",
  ]);
  assertEquals(chooseMemberServers([], () => true, own), []);
});

Deno.test("public-looking addresses: private, shared, loopback, link-local and ULA are not", () => {
  const v4 = (text: string) => isPublicLooking(parseIpv4(text)!);
  const v6 = (text: string) => isPublicLooking(parseIpv6(text)!);
  for (const text of ["10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.1", "100.64.0.1"]) {
    assertEquals(v4(text), false, text);
  }
  for (const text of ["127.0.0.1", "169.254.1.1", "0.0.0.0", "224.0.0.1", "255.255.255.255"]) {
    assertEquals(v4(text), false, text);
  }
  for (const text of ["192.0.2.1", "198.51.100.1", "203.0.113.1", "8.8.8.8", "172.32.0.1"]) {
    assertEquals(v4(text), true, text);
  }
  for (const text of ["::1", "::", "fd99:6d67::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1"]) {
    assertEquals(v6(text), false, text);
  }
  assertEquals(v6("2001:db8::1"), true);
  assertEquals(v6("::ffff:192.0.2.1"), true);
});
