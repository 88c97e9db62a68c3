/**
 * Reproducible WireGuard hosts for the fuzz targets: the harness's hosts draw static and
 * ephemeral keys and cookie secrets from the OS, so a failure could not be replayed from the
 * printed seed. These draw them from the run's PRNG instead. Only the index table's random
 * high bits still come from the OS (the engine offers no seam for them): a replay runs the same
 * mutations on the same messages up to those 4 bytes, so a few inputs in 100,000 may take a
 * different drop path, and a failure replays all but certainly.
 */

import { clampX25519Scalar } from "../../lib/identity/wireguard_key.ts";
import type { NoisePrimitives } from "../../lib/wireguard/noise_primitives.ts";
import type { FakeNetwork, Host } from "../wireguard/engine_harness.ts";
import type { Rng } from "./fuzz_kit.ts";

/** `p` with every random draw (private keys, cookie secrets and nonces) taken from `rng`. */
export function seededPrimitives(p: NoisePrimitives, rng: Rng): NoisePrimitives {
  return {
    ...p,
    generatePrivateKey: () => clampX25519Scalar(rng.bytes(32)),
    randomBytes: (length) => rng.bytes(length),
  };
}

/** Like `FakeNetwork.addHost`, with seeded keys. */
export function addSeededHost(
  network: FakeNetwork,
  rng: Rng,
  name: string,
  endpoint: string,
  meshAddress: string,
): Promise<Host> {
  return network.addHost(name, endpoint, meshAddress, {
    primitives: (made) => seededPrimitives(made, rng),
    jitterSeed: () => rng.below(2 ** 32),
  });
}
