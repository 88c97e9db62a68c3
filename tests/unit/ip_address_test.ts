import { assertEquals } from "../assert.ts";
import { formatIpAddress, parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";

Deno.test("IPv4 parsing: dotted quads only, no leading zeros, each part ≤ 255", () => {
  assertEquals(parseIpv4("192.0.2.1"), new Uint8Array([192, 0, 2, 1]));
  assertEquals(parseIpv4("0.0.0.0"), new Uint8Array(4));
  for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "1.2.3.-4", ""]) {
    assertEquals(parseIpv4(bad), null, bad);
  }
});

Deno.test("IPv6 parsing round-trips through RFC 5952 text; bad forms are refused", () => {
  const cases: [string, string][] = [
    ["fd99:6d67::1", "fd99:6d67::1"],
    ["FD99:6D67:0:0:0:0:0:1", "fd99:6d67::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8::", "2001:db8::"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ];
  for (const [text, canonical] of cases) {
    assertEquals(formatIpAddress(parseIpv6(text)!), canonical, text);
  }
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "g::", ":::"]) {
    assertEquals(parseIpv6(bad), null, bad);
  }
  assertEquals(formatIpAddress(new Uint8Array([203, 0, 113, 5])), "203.0.113.5");
});
