/** `up --relay-rate` / `--relay-pairs`: rates parsed in SI bits, budgets derived, bad input refused. */

import { assertEquals, assertThrows } from "../assert.ts";
import { parseBitRate, parseRelayFlags, relayRateLimits } from "../../lib/cli/relay_flags.ts";
import { DEFAULT_RELAY_LIMITS } from "../../lib/relay/relay_table.ts";
import { UsageError } from "../../lib/errors.ts";

Deno.test("relay flags: rates are SI bits per second, case-insensitive, fractions allowed", () => {
  assertEquals(parseBitRate("10mbit"), 10_000_000);
  assertEquals(parseBitRate("200Mbit"), 200_000_000);
  assertEquals(parseBitRate("1.5GBIT"), 1_500_000_000);
  assertEquals(parseBitRate("500kbit"), 500_000);
  for (const bad of ["", "10", "10mb", "10 mbit", "-1mbit", "1e3mbit", "mbit", "10mbit/s"]) {
    assertEquals(parseBitRate(bad), null, bad);
  }
});

Deno.test("relay flags: 1gbit gives the defaults' budgets; 10mbit a hundredth, bursts 0.1 s", () => {
  const { bytesPerSecond, packetsPerSecond, byteBurst, packetBurst } = DEFAULT_RELAY_LIMITS;
  assertEquals(relayRateLimits(1e9), { bytesPerSecond, packetsPerSecond, byteBurst, packetBurst });
  assertEquals(relayRateLimits(10e6), {
    bytesPerSecond: 1_250_000,
    packetsPerSecond: 1_000,
    byteBurst: 125_000,
    packetBurst: 100,
  });
  // A slow rate's bursts still pass 16 full datagrams.
  assertEquals(relayRateLimits(1e6).packetBurst, 16);
  assertEquals(relayRateLimits(1e6).byteBurst, 24_000);
});

Deno.test("relay flags: both together, none (defaults), and refusals", () => {
  assertEquals(parseRelayFlags(undefined, undefined, true), {});
  assertEquals(parseRelayFlags(undefined, undefined, false), {});
  assertEquals(parseRelayFlags("200mbit", "16", true), {
    ...relayRateLimits(200e6),
    maxPairs: 16,
  });
  const refused: [string | undefined, string | undefined, boolean, string][] = [
    ["10mbit", undefined, false, "--relay-rate only applies with --relay"],
    [undefined, "4", false, "--relay-pairs only applies with --relay"],
    ["0.5mbit", undefined, true, "1mbit-100gbit), got '0.5mbit'"],
    ["1tbit", undefined, true, "got '1tbit'"],
    [undefined, "65537", true, "--relay-pairs must be an integer 1-65536"],
  ];
  for (const [rate, pairs, relay, message] of refused) {
    const literal = new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    assertThrows(() => parseRelayFlags(rate, pairs, relay), UsageError, literal);
  }
});
