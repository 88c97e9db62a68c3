import { assertEquals } from "../assert.ts";
import { decodeHex } from "../../lib/encoding/base64.ts";
import {
  formatIpv6,
  meshIpv4,
  meshIpv4FromHash,
  meshIpv6,
  meshIpv6FromHash,
} from "../../lib/identity/mesh_address.ts";

// Digests computed with hash-wasm's BLAKE3 (the reference C implementation compiled to wasm,
// independent of @noble/hashes); IPv6 text checked with Python's ipaddress module.
const VECTORS = [
  // RFC 8032 §7.1 TEST 1, 2, 3 public keys.
  [
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "10.99.108.49",
    "fd99:6d67::6c31:412:68f4:7160",
  ],
  [
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "10.99.16.39",
    "fd99:6d67::1027:e035:b26b:605d",
  ],
  [
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    "10.99.132.96",
    "fd99:6d67::8460:6c25:c8a5:a750",
  ],
  // BLAKE3 = 0029…: h[0] == 0 becomes 1; IPv6 keeps the raw digest.
  [
    "629b2502049cefd50a93fd06de37f70bcd5cbbf329e004f97c1c31629ede96b5",
    "10.99.1.41",
    "fd99:6d67::29:873e:85a0:a946",
  ],
  // BLAKE3 = f300…: h[1] == 0 becomes 1.
  [
    "8c5481f09c4569fb8ae5bef7501f5fc9a4db99769bc6b814bf3573d298c9c10a",
    "10.99.243.1",
    "fd99:6d67::f300:fbdf:219:e66b",
  ],
  // BLAKE3 = e5ff…: h[1] == 255 becomes 254.
  [
    "3a7672f2f243a83883032241f6fac44b7d292089b41805bb709928a000e24de0",
    "10.99.229.254",
    "fd99:6d67::e5ff:597c:81fd:dfbb",
  ],
] as const;

Deno.test("mesh addresses match the original derivation on known answers", () => {
  for (const [key, ipv4, ipv6] of VECTORS) {
    assertEquals(meshIpv4(decodeHex(key)), ipv4, key);
    assertEquals(meshIpv6(decodeHex(key)), ipv6, key);
  }
});

Deno.test("mesh IPv4 adjustments: h0 0→1, h1 0→1, h1 255→254, all at once", () => {
  const digest = (h0: number, h1: number) => new Uint8Array([h0, h1, ...new Uint8Array(30)]);
  assertEquals([...meshIpv4FromHash(digest(0, 0))], [10, 99, 1, 1]);
  assertEquals([...meshIpv4FromHash(digest(0, 255))], [10, 99, 1, 254]);
  assertEquals([...meshIpv4FromHash(digest(255, 7))], [10, 99, 255, 7]);
  assertEquals([...meshIpv4FromHash(digest(1, 254))], [10, 99, 1, 254]);
});

Deno.test("mesh IPv6 with an all-zero host part ends in ::1", () => {
  assertEquals(formatIpv6(meshIpv6FromHash(new Uint8Array(32))), "fd99:6d67::1");
  const almost = new Uint8Array(32);
  almost[7] = 0x0a;
  assertEquals(formatIpv6(meshIpv6FromHash(almost)), "fd99:6d67::a");
});

Deno.test("IPv6 formatting follows RFC 5952", () => {
  assertEquals(formatIpv6(decodeHex("fd996d67000000000000000000000000")), "fd99:6d67::");
  assertEquals(formatIpv6(decodeHex("fd996d67000000000000000100000000")), "fd99:6d67::1:0:0");
  // Of two equal zero runs the first is compressed; a lone zero group is not.
  assertEquals(formatIpv6(decodeHex("00010000000000010000000000000000")), "1:0:0:1::");
  assertEquals(formatIpv6(decodeHex("00010000000100000001000000010000")), "1:0:1:0:1:0:1:0");
  assertEquals(formatIpv6(new Uint8Array(16)), "::");
});
