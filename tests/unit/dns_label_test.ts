import { assertEquals, assertThrows } from "../assert.ts";
import { InvalidNameError } from "../../lib/errors.ts";
import { assertDnsLabel, isDnsLabel } from "../../lib/trust/dns_label.ts";

Deno.test("DNS labels: accepted names", () => {
  for (const name of ["a", "alice", "node-1", "0", "9lives", "a".repeat(63), "x-y-z"]) {
    assertEquals(isDnsLabel(name), true, name);
  }
});

Deno.test("DNS labels: refused names, each with its reason", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["a".repeat(64), /64 characters/],
    ["-alice", /starts or ends/],
    ["alice-", /starts or ends/],
    ["Alice", /uppercase.*"alice"/],
    ["../x", /a-z, 0-9/],
    ["a/b", /a-z, 0-9/],
    ["a.b", /a-z, 0-9/],
    ["a b", /a-z, 0-9/],
    ["a_b", /a-z, 0-9/],
    [".", /a-z, 0-9/],
    ["..", /a-z, 0-9/],
    ["a\u0000", /a-z, 0-9/],
    ["ålice", /a-z, 0-9/],
  ];
  for (const [name, reason] of cases) {
    assertEquals(isDnsLabel(name), false, name);
    assertThrows(() => assertDnsLabel(name), InvalidNameError, reason);
  }
});
