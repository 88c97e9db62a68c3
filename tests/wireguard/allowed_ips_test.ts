import { assertEquals, assertThrows } from "../assert.ts";
import { AllowedIpError, AllowedIps, formatAllowedIp } from "../../lib/wireguard/allowed_ips.ts";
import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";

const v4 = (text: string) => parseIpv4(text)!;
const v6 = (text: string) => parseIpv6(text)!;

Deno.test("allowed IPs: longest prefix wins, IPv4 and IPv6 kept apart", () => {
  const table = new AllowedIps<string>();
  table.insert(v4("10.99.0.0"), 16, "mesh");
  table.insert(v4("10.99.7.158"), 32, "host");
  table.insert(v4("0.0.0.0"), 0, "default");
  table.insert(v6("fd99:6d67::"), 64, "mesh6");
  assertEquals(table.lookup(v4("10.99.7.158")), "host");
  assertEquals(table.lookup(v4("10.99.7.159")), "mesh");
  assertEquals(table.lookup(v4("192.0.2.1")), "default");
  assertEquals(table.lookup(v6("fd99:6d67::1")), "mesh6");
  assertEquals(table.lookup(v6("fd99:6d68::1")), undefined);
});

Deno.test("allowed IPs: host bits are masked, re-insert moves a prefix, removal prunes", () => {
  const table = new AllowedIps<string>();
  table.insert(v4("198.51.100.77"), 24, "a");
  assertEquals(table.entriesOf("a").map(formatAllowedIp), ["198.51.100.0/24"]);
  table.insert(v4("198.51.100.0"), 24, "b");
  assertEquals(table.entriesOf("a"), []);
  assertEquals(table.lookup(v4("198.51.100.1")), "b");
  table.insert(v6("fd99:6d67::abcd"), 128, "b");
  assertEquals(table.entriesOf("b").map(formatAllowedIp), [
    "198.51.100.0/24",
    "fd99:6d67::abcd/128",
  ]);
  table.removeOwner("b");
  assertEquals(table.lookup(v4("198.51.100.1")), undefined);
  assertEquals(table.entriesOf("b"), []);
});

Deno.test("allowed IPs: random prefixes agree with a brute-force model", () => {
  const table = new AllowedIps<number>();
  const model: { net: number; cidr: number; owner: number }[] = [];
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const toBytes = (n: number) =>
    new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  for (let i = 0; i < 300; i++) {
    const cidr = Math.floor(rand() * 33);
    const mask = cidr === 0 ? 0 : (0xffffffff << (32 - cidr)) >>> 0;
    const net = ((rand() * 2 ** 32) >>> 0 & mask) >>> 0;
    table.insert(toBytes(net), cidr, i);
    const existing = model.findIndex((entry) => entry.net === net && entry.cidr === cidr);
    if (existing >= 0) model.splice(existing, 1);
    model.push({ net, cidr, owner: i });
  }
  for (let i = 0; i < 2000; i++) {
    const address = (rand() * 2 ** 32) >>> 0;
    let best: { cidr: number; owner: number } | undefined;
    for (const entry of model) {
      const mask = entry.cidr === 0 ? 0 : (0xffffffff << (32 - entry.cidr)) >>> 0;
      if (((address & mask) >>> 0) === entry.net && (!best || entry.cidr > best.cidr)) best = entry;
    }
    assertEquals(table.lookup(toBytes(address)), best?.owner);
  }
});

Deno.test("allowed IPs: bad prefix lengths and address sizes are errors", () => {
  const table = new AllowedIps<string>();
  assertThrows(() => table.insert(v4("10.0.0.0"), 33, "x"), AllowedIpError, /0-32/);
  assertThrows(() => table.insert(v6("::"), 129, "x"), AllowedIpError, /0-128/);
  assertThrows(() => table.insert(new Uint8Array(5), 8, "x"), AllowedIpError, /4 or 16/);
});
