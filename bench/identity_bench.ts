/** Costs of the identity layer: derivations and key validation (run: deno task bench). */

import { generateIdentity } from "../lib/identity/identity.ts";
import { ed25519KeyProblem } from "../lib/identity/ed25519_public_key.ts";
import { meshIpv4, meshIpv6 } from "../lib/identity/mesh_address.ts";
import { orgDomain } from "../lib/identity/org_domain.ts";
import { deriveWireguardPublicKey } from "../lib/identity/wireguard_key.ts";

const identity = await generateIdentity();
const { publicKey, seed } = identity;

Deno.bench("mesh IPv4 from a public key (BLAKE3)", { group: "derive" }, () => {
  meshIpv4(publicKey);
});
Deno.bench("mesh IPv6 from a public key (BLAKE3)", { group: "derive" }, () => {
  meshIpv6(publicKey);
});
Deno.bench("org domain from a public key", { group: "derive" }, () => {
  orgDomain(publicKey);
});
Deno.bench("WireGuard public key from a seed (SHA-512 + X25519)", { group: "derive" }, async () => {
  await deriveWireguardPublicKey(seed);
});
Deno.bench("validate an Ed25519 public key (canonical, subgroup)", { group: "validate" }, () => {
  ed25519KeyProblem(publicKey);
});
Deno.bench("generate an identity (WebCrypto Ed25519)", { group: "validate" }, async () => {
  await generateIdentity();
});
