/** NAT mapping classification from STUN results (pure logic). */

import { classifyNatMapping, describeMapping } from "../../lib/stun/nat_mapping.ts";
import type { StunServerResult } from "../../lib/stun/stun_client.ts";
import { assertEquals, assertTrue } from "../assert.ts";

function result(server: string, mapped: string | null): StunServerResult {
  return {
    server,
    mapped,
    rttMs: mapped === null ? null : 10,
    error: mapped ? null : "timeout",
    at: 0,
  };
}

const LOCAL = ["10.99.0.2:51821", "[fd99:6d67::2]:51821"];

Deno.test("nat mapping: same mapped address at two server IPs is endpoint-independent", () => {
  const nat = classifyNatMapping([
    result("192.0.2.1:51821", "203.0.113.1:40000"),
    result("198.51.100.1:51821", "203.0.113.1:40000"),
  ], LOCAL);
  assertEquals(nat.mapping, "endpoint-independent");
  assertEquals(nat.v4.mapped, "203.0.113.1:40000");
  assertEquals(nat.v6, { mapped: null, mapping: "unknown" });
});

Deno.test("nat mapping: different mapped addresses mean the mapping varies by destination", () => {
  const nat = classifyNatMapping([
    result("192.0.2.1:51821", "203.0.113.1:40000"),
    result("198.51.100.1:51821", "203.0.113.1:40001"),
  ], LOCAL);
  assertEquals(nat.mapping, "varies-by-destination");
});

Deno.test("nat mapping: a mapped address that is ours is public; one server alone is unknown", () => {
  assertEquals(
    classifyNatMapping([result("192.0.2.1:51821", "10.99.0.2:51821")], LOCAL).mapping,
    "public",
  );
  assertEquals(
    classifyNatMapping([result("192.0.2.1:51821", "203.0.113.1:40000")], LOCAL).mapping,
    "unknown",
  );
  // Two servers on one IP (two ports) cannot tell a destination-IP-dependent mapping.
  assertEquals(
    classifyNatMapping([
      result("192.0.2.1:51821", "203.0.113.1:40000"),
      result("192.0.2.1:3478", "203.0.113.1:40000"),
    ], LOCAL).mapping,
    "unknown",
  );
  assertEquals(classifyNatMapping([result("192.0.2.1:51821", null)], LOCAL).mapping, "unknown");
  assertEquals(classifyNatMapping([], LOCAL).mapping, "unknown");
});

Deno.test("nat mapping: IPv6 is classified on its own and used when IPv4 has no answer", () => {
  const nat = classifyNatMapping([
    result("[2001:db8::1]:51821", "[fd99:6d67::2]:51821"),
    result("192.0.2.1:51821", null),
  ], LOCAL);
  assertEquals(nat.v6, { mapped: "[fd99:6d67::2]:51821", mapping: "public" });
  assertEquals(nat.mapping, "public");
});

Deno.test("nat mapping: every behaviour has a sentence", () => {
  for (
    const mapping of ["public", "endpoint-independent", "varies-by-destination", "unknown"] as const
  ) {
    assertTrue(describeMapping(mapping).length > 20);
  }
});
