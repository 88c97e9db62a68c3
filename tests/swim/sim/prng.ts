/** A small deterministic PRNG (mulberry32) so every simulation is reproducible from its seed. */

export { mulberry32 } from "../../../lib/random/mulberry32.ts";

/** Fills `length` bytes from `random`. */
export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}
