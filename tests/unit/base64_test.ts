import { assertEquals, assertThrows } from "../assert.ts";
import {
  decodeBase64Strict,
  decodeHex,
  encodeBase64,
  encodeHex,
} from "../../lib/encoding/base64.ts";
import { constantTimeEqual } from "../../lib/encoding/constant_time.ts";
import { InvalidKeyError } from "../../lib/errors.ts";

Deno.test("base64 round-trips every length 0..70", () => {
  for (let length = 0; length <= 70; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    assertEquals(decodeBase64Strict(encodeBase64(bytes)), bytes);
  }
});

Deno.test("base64 rejects what is not canonical padded standard base64", () => {
  const key = encodeBase64(new Uint8Array(32).fill(7)); // 44 chars ending in '='
  for (
    const bad of [
      key.slice(0, 43), // padding removed
      key + "=", // too much padding
      key.replaceAll("B", "-"), // url-safe alphabet (no '-' in a standard encoding)
      " " + key, // whitespace inside the value (callers trim)
      key.slice(0, 42) + "B=", // non-zero trailing bits
      "====",
      "A",
    ]
  ) {
    if (bad === key) continue;
    assertThrows(() => decodeBase64Strict(bad), InvalidKeyError);
  }
});

Deno.test("hex round-trips and rejects odd or non-hex input", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(33));
  assertEquals(decodeHex(encodeHex(bytes)), bytes);
  assertEquals(encodeHex(new Uint8Array([0, 15, 255])), "000fff");
  assertThrows(() => decodeHex("abc"), InvalidKeyError);
  assertThrows(() => decodeHex("zz"), InvalidKeyError);
});

Deno.test("constantTimeEqual compares contents and lengths", () => {
  assertEquals(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assertEquals(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assertEquals(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0])), false);
});
