import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertThrows } from "../assert.ts";
import { decodeHex, encodeBase64 } from "../../lib/encoding/base64.ts";
import { InvalidKeyError } from "../../lib/errors.ts";
import { ed25519KeyProblem, parseEd25519PublicKey } from "../../lib/identity/ed25519_public_key.ts";
import { generateIdentity } from "../../lib/identity/identity.ts";

const RFC8032_TEST1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/** The eight points of small order, canonically encoded. */
const SMALL_ORDER = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

Deno.test("Ed25519 keys: RFC 8032 and freshly generated keys are accepted", async () => {
  assertEquals(ed25519KeyProblem(decodeHex(RFC8032_TEST1)), null);
  for (let i = 0; i < 50; i++) {
    const identity = await generateIdentity();
    assertEquals(ed25519KeyProblem(identity.publicKey), null);
  }
});

Deno.test("Ed25519 keys: every small-order point is refused", () => {
  for (const hex of SMALL_ORDER) {
    assertEquals(ed25519KeyProblem(decodeHex(hex)), "small-order", hex);
  }
});

Deno.test("Ed25519 keys: non-canonical encodings are refused", () => {
  // y = p (≡ 0), y = p + 1 (≡ 1), and y = 2^255 - 1: all ≥ p.
  const yIsP = "ed" + "ff".repeat(30) + "7f";
  const yIsPPlus1 = "ee" + "ff".repeat(30) + "7f";
  const yMax = "ff".repeat(31) + "7f";
  for (const hex of [yIsP, yIsPPlus1, yMax]) {
    assertEquals(ed25519KeyProblem(decodeHex(hex)), "non-canonical", hex);
  }
  // x = 0 with the sign bit set (y = 1 is the identity, whose x is 0).
  assertEquals(
    ed25519KeyProblem(decodeHex("01" + "00".repeat(30) + "80")),
    "non-canonical",
  );
});

Deno.test("Ed25519 keys: y values with no curve point are refused", () => {
  let found = 0;
  for (let y = 2; y < 40 && found < 5; y++) {
    const bytes = new Uint8Array(32);
    bytes[0] = y;
    let onCurve = true;
    try {
      ed25519.Point.fromBytes(bytes);
    } catch {
      onCurve = false;
    }
    if (onCurve) continue;
    found++;
    assertEquals(ed25519KeyProblem(bytes), "not-on-curve", `y=${y}`);
  }
  assertEquals(found, 5);
});

Deno.test("Ed25519 keys: a valid key plus a torsion point is refused", () => {
  const torsion = ed25519.Point.fromBytes(decodeHex(SMALL_ORDER[4]));
  const mixed = ed25519.Point.fromBytes(decodeHex(RFC8032_TEST1)).add(torsion).toBytes();
  assertEquals(ed25519KeyProblem(mixed), "mixed-order");
});

Deno.test("Ed25519 keys: parse errors say which check failed", () => {
  assertThrows(() => parseEd25519PublicKey("   "), InvalidKeyError, /empty/);
  assertThrows(() => parseEd25519PublicKey("not base64!"), InvalidKeyError, /base64/);
  assertThrows(
    () => parseEd25519PublicKey(encodeBase64(new Uint8Array(31).fill(9))),
    InvalidKeyError,
    /31 bytes.*32 bytes/,
  );
  assertThrows(
    () => parseEd25519PublicKey(encodeBase64(decodeHex(SMALL_ORDER[0]))),
    InvalidKeyError,
    /small-order/,
  );
  assertEquals(
    parseEd25519PublicKey(` ${encodeBase64(decodeHex(RFC8032_TEST1))}\n`),
    decodeHex(RFC8032_TEST1),
  );
});
