import { assertEquals } from "../assert.ts";
import { HandshakeRateLimiter } from "../../lib/wireguard/handshake_rate_limiter.ts";
import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";

Deno.test("rate limiter: burst of 5, then 20 per second, per source", () => {
  const limiter = new HandshakeRateLimiter();
  const a = parseIpv4("192.0.2.1")!;
  const b = parseIpv4("192.0.2.2")!;
  const allowed = (source: Uint8Array, now: number, tries: number) =>
    Array.from({ length: tries }, () => limiter.allow(source, now)).filter(Boolean).length;
  assertEquals(allowed(a, 0, 10), 5);
  assertEquals(allowed(b, 0, 10), 5); // another source is unaffected
  assertEquals(allowed(a, 50, 10), 1); // 50 ms refill one token
  assertEquals(allowed(a, 1_050, 100), 5); // a full second refills only up to the burst
  // Sustained: over 10 s at most 20/s get through (+ burst).
  let passed = 0;
  for (let t = 2_000; t < 12_000; t += 5) passed += limiter.allow(a, t) ? 1 : 0;
  assertEquals(passed >= 195 && passed <= 206, true, `passed ${passed}`);
});

Deno.test("rate limiter: IPv6 sources share a bucket per /64", () => {
  const limiter = new HandshakeRateLimiter();
  let passed = 0;
  for (let i = 0; i < 50; i++) {
    passed += limiter.allow(parseIpv6(`2001:db8:1:2::${(i + 1).toString(16)}`)!, 0) ? 1 : 0;
  }
  assertEquals(passed, 5);
});

Deno.test("rate limiter: the table stays bounded under a flood of sources", () => {
  const limiter = new HandshakeRateLimiter(1000);
  for (let i = 0; i < 100_000; i++) {
    limiter.allow(
      new Uint8Array([198, 51, (i >> 8) & 255, i & 255]).map((x, j) =>
        j === 1 ? (i >> 16) + 51 : x
      ),
      0,
    );
  }
  assertEquals(limiter.size <= 1000, true);
  // Once entries go idle the table makes room again.
  assertEquals(limiter.allow(parseIpv4("203.0.113.9")!, 10_000), true);
});
