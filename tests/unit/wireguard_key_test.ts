import { assertEquals } from "../assert.ts";
import { decodeHex, encodeBase64, encodeHex } from "../../lib/encoding/base64.ts";
import {
  clampX25519Scalar,
  deriveWireguardPrivateKey,
  deriveWireguardPublicKey,
  x25519PublicKey,
} from "../../lib/identity/wireguard_key.ts";

// Expected values from libsodium: crypto_sign_ed25519_sk_to_curve25519 (private) and
// crypto_sign_ed25519_pk_to_curve25519 (public, the birational map of the Ed25519 key).
const VECTORS = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    private: "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
    public: "2F4H7CKwrYgVN8L0TWYtGhQ8+DDFespDBdhcepD2ti4=",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    private: "68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
    public: "JccExZS4ivwAp2tp0e0rmE1+IlUPPtCALQT7zQfTjUc=",
  },
];

Deno.test("WireGuard key = clamp(SHA-512(seed)[0..32]), public = libsodium's birational map", async () => {
  for (const vector of VECTORS) {
    assertEquals(encodeHex(deriveWireguardPrivateKey(decodeHex(vector.seed))), vector.private);
    assertEquals(
      encodeBase64(await deriveWireguardPublicKey(decodeHex(vector.seed))),
      vector.public,
    );
  }
});

Deno.test("X25519 public key: RFC 7748 §6.1 Alice and Bob", async () => {
  const alice = decodeHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bob = decodeHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  assertEquals(
    encodeHex(await x25519PublicKey(alice)),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assertEquals(
    encodeHex(await x25519PublicKey(bob)),
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
});

Deno.test("clamping clears the low 3 bits and the top bit and sets bit 254", () => {
  const scalar = clampX25519Scalar(new Uint8Array(32).fill(0xff));
  assertEquals(scalar[0], 0xf8);
  assertEquals(scalar[31], 0x7f);
  const low = clampX25519Scalar(new Uint8Array(32));
  assertEquals(low[31], 0x40);
});
