/** The `ipv4_holders`/`ipv4_pins` text format: strict lines, round trips, bad lines reported. */

import { assertEquals, assertIncludes } from "../assert.ts";
import { formatClaims, IPV4_PINS_FILE, parseClaims } from "../../lib/daemon/ipv4_claims_store.ts";

const KEY = "vVBcIqvOBfPOpupAl2H/8ICyi8r3VVLq5L3pqkvG4JE=";
const KEY_HEX = "bd505c22abce05f3cea6ea409761fff080b28bcaf75552eae4bde9aa4bc6e091";

Deno.test("ipv4 claims file: round trip, sorted by address, with its header", () => {
  const entries = new Map([["10.99.10.2", KEY_HEX], ["10.99.7.158", KEY_HEX]]);
  const text = formatClaims(entries, IPV4_PINS_FILE);
  assertIncludes(text, "# meshguard: mesh IPv4 addresses given to a key");
  assertIncludes(text, `10.99.7.158 ${KEY}\n10.99.10.2 ${KEY}\n`);
  assertEquals(parseClaims(text, IPV4_PINS_FILE), { entries, problems: [] });
});

Deno.test("ipv4 claims file: bad lines are skipped and named; the first of a duplicate counts", () => {
  const text = [
    `10.99.7.158 ${KEY}`,
    `10.98.7.158 ${KEY}`,
    `10.99.7.256 ${KEY}`,
    "10.99.1.1 not-base64",
    "10.99.1.2 AAAA",
    `10.99.7.158 ${KEY.replace("v", "w")}`,
    "just-one-field",
    "",
    "# a comment",
  ].join("\n");
  const { entries, problems } = parseClaims(text, "ipv4_pins");
  assertEquals([...entries], [["10.99.7.158", KEY_HEX]]);
  assertEquals(problems.length, 6);
  assertIncludes(problems[0], "ipv4_pins line 2: expected '<10.99.x.y> <base64 public key>'");
  assertIncludes(problems[3], "line 5: a public key is 32 bytes, got 3");
  assertIncludes(problems[4], "10.99.7.158 is listed twice; the first line counts");
});
