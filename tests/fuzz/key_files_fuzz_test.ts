/**
 * Fuzz targets for the key files meshguard reads: `identity.key` (seed ‖ public key, base64)
 * and the one-key-per-file trust store (`authorized_keys/*.pub`, `trusted_orgs/*.org`, also
 * what `meshguard trust` accepts on the command line). Only the documented typed errors may
 * escape, and whatever is accepted is the one canonical spelling of a valid key.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { IdentityError, InvalidKeyError } from "../../lib/errors.ts";
import { ed25519KeyProblem, parseEd25519PublicKey } from "../../lib/identity/ed25519_public_key.ts";
import {
  decodeIdentityKeyFile,
  encodeIdentityKeyFile,
  identityFromSeed,
} from "../../lib/identity/identity.ts";
import { ensure, Mutator, runFuzz, runFuzzAsync, startFuzz, text, utf8 } from "./fuzz_kit.ts";

const BASE64_DICTIONARY = utf8(
  "=",
  "==",
  "+",
  "/",
  "-",
  "_",
  " ",
  "\n",
  "\r\n",
  "\t",
  "A",
  "\u00a0",
);

Deno.test("fuzz identity.key: only IdentityError, and only the exact encoding is accepted", async () => {
  const run = startFuzz("identity-key");
  const identities = await Promise.all([0, 1, 2].map(() => identityFromSeed(run.rng.bytes(32))));
  const files = identities.map(encodeIdentityKeyFile);
  const seeds = utf8(...files, files[0].trim() + "\r\n\n ");
  const mutator = new Mutator(run.rng, { maxLength: 256, dictionary: BASE64_DICTIONARY });
  const outcomes = await runFuzzAsync(
    "identity-key",
    run,
    () => text(mutator.next(seeds)),
    async (file) => {
      let identity;
      try {
        identity = await decodeIdentityKeyFile(file, "identity.key");
      } catch (error) {
        if (error instanceof IdentityError) return "refused";
        throw error;
      }
      // Trailing newlines, CRs and spaces are forgiven; nothing else may differ.
      const canonical = encodeIdentityKeyFile(identity).trim();
      ensure(file.replace(/[\r\n ]+$/, "") === canonical, "a non-canonical key file was accepted");
      return "accepted";
    },
  );
  ensure((outcomes.get("refused") ?? 0) > 10_000, "too few key files refused");
  ensure((outcomes.get("accepted") ?? 0) > 100, "too few key files accepted");
});

Deno.test("fuzz trusted public keys: only InvalidKeyError, accepted keys are canonical and valid", () => {
  const run = startFuzz("public-key");
  const valid = [0, 1, 2].map(() => encodeBase64(ed25519.getPublicKey(run.rng.bytes(32))));
  const identityPoint = new Uint8Array(32);
  identityPoint[0] = 1; // small order (the neutral point)
  const seeds = utf8(
    ...valid,
    `  ${valid[0]}\n`,
    encodeBase64(identityPoint),
    valid[1].slice(0, 40),
  );
  const mutator = new Mutator(run.rng, { maxLength: 96, dictionary: BASE64_DICTIONARY });
  const outcomes = runFuzz("public-key", run, () => text(mutator.next(seeds)), (line) => {
    let key;
    try {
      key = parseEd25519PublicKey(line, "key");
    } catch (error) {
      if (error instanceof InvalidKeyError) return "refused";
      throw error;
    }
    ensure(key.length === 32, "accepted key is not 32 bytes");
    ensure(encodeBase64(key) === line.trim(), "a non-canonical spelling was accepted");
    ensure(ed25519KeyProblem(key) === null, "an invalid point was accepted");
    return "accepted";
  });
  ensure((outcomes.get("accepted") ?? 0) > 100, "too few keys accepted");
});
