/** The NAT behaviours the simulator tests put nodes behind (see `router.ts`). */

import type { NatBehaviour } from "./router.ts";

/** The common home router ("cone"): one outside port per inside endpoint, answers only from where it sent. */
export const CONE: NatBehaviour = {
  mapping: "endpoint-independent",
  filtering: "address-port-dependent",
  mappingTimeoutMs: 30_000,
};

/** A carrier-grade ("symmetric") NAT: a new outside port per destination. */
export const SYMMETRIC: NatBehaviour = {
  mapping: "address-port-dependent",
  filtering: "address-port-dependent",
  mappingTimeoutMs: 30_000,
};
