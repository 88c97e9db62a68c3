import { assertEquals, assertRejects } from "../assert.ts";
import { decodeHex, encodeBase64, encodeHex } from "../../lib/encoding/base64.ts";
import { IdentityError } from "../../lib/errors.ts";
import {
  decodeIdentityKeyFile,
  encodeIdentityKeyFile,
  encodePublicKeyFile,
  generateIdentity,
  identityFromSeed,
  signWithIdentity,
  wipeIdentity,
} from "../../lib/identity/identity.ts";

// RFC 8032 §7.1 TEST 1; the key-file text was produced by libsodium's
// crypto_sign_seed_keypair (seed ‖ pk, standard base64), the layout the original uses.
const SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const KEY_FILE =
  "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==\n";
const SIGNATURE_OF_EMPTY =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

Deno.test("identity: the RFC 8032 seed gives its public key and the original's key file", async () => {
  const identity = await identityFromSeed(decodeHex(SEED));
  assertEquals(encodeHex(identity.publicKey), PUBLIC);
  assertEquals(encodeIdentityKeyFile(identity), KEY_FILE);
  assertEquals(KEY_FILE.length, 89);
  assertEquals(encodePublicKeyFile(identity.publicKey), encodeBase64(decodeHex(PUBLIC)) + "\n");
  assertEquals(encodeHex(await signWithIdentity(identity, new Uint8Array(0))), SIGNATURE_OF_EMPTY);
});

Deno.test("identity: key file round-trips, with CRLF or spaces after it", async () => {
  const identity = await generateIdentity();
  const text = encodeIdentityKeyFile(identity);
  for (const variant of [text, text.trimEnd() + "\r\n", text.trimEnd() + "  \n", text.trimEnd()]) {
    const back = await decodeIdentityKeyFile(variant, "identity.key");
    assertEquals(back.seed, identity.seed);
    assertEquals(back.publicKey, identity.publicKey);
  }
});

Deno.test("identity: corrupt key files are refused with a reason", async () => {
  const good = KEY_FILE.trimEnd();
  await assertRejects(() => decodeIdentityKeyFile(good.slice(0, 80), "k"), IdentityError, /88/);
  await assertRejects(
    () => decodeIdentityKeyFile("!" + good.slice(1), "k"),
    IdentityError,
    /base64/,
  );
  // Flip one bit of the stored public key: it no longer belongs to the seed.
  const bytes = Uint8Array.from(atob(good), (c) => c.charCodeAt(0));
  bytes[40] ^= 1;
  await assertRejects(
    () => decodeIdentityKeyFile(encodeBase64(bytes), "k"),
    IdentityError,
    /does not belong/,
  );
});

Deno.test("identity: generated seeds differ and wiping zeroes the seed", async () => {
  const a = await generateIdentity();
  const b = await generateIdentity();
  assertEquals(encodeHex(a.seed) === encodeHex(b.seed), false);
  wipeIdentity(a);
  assertEquals(a.seed, new Uint8Array(32));
});
