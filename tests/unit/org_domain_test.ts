import { assertEquals } from "../assert.ts";
import { decodeHex } from "../../lib/encoding/base64.ts";
import { orgDomain } from "../../lib/identity/org_domain.ts";

Deno.test("org domain = hex of BLAKE3(org key)[0..3] (digests from hash-wasm's BLAKE3)", () => {
  const cases = [
    ["d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "6c3104"],
    ["3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "1027e0"],
    ["629b2502049cefd50a93fd06de37f70bcd5cbbf329e004f97c1c31629ede96b5", "002987"],
  ];
  for (const [key, domain] of cases) assertEquals(orgDomain(decodeHex(key)), domain);
});
