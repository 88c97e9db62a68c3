/**
 * The membership engine a mesh node starts with: signed with the node's identity (unless the
 * start brings its own crypto), admitting by the node's trust, advertising its endpoint
 * candidates and certificate, and flagging its record when it offers to relay.
 */

import type { Identity } from "../identity/identity.ts";
import { SwimEngine, type TrustPolicy } from "../swim/engine.ts";
import { createSwimCrypto } from "../swim/swim_crypto.ts";
import { ALIVE_FLAG_RELAY } from "../swim/records.ts";
import type { EndpointCandidates } from "./endpoint_candidates.ts";
import type { MeshNodeStart } from "./node_options.ts";

/** What of the node its membership engine is made from. */
export interface NodeSwimParts {
  identity: Identity;
  trust: TrustPolicy;
  certificate: Uint8Array | null;
  candidates: EndpointCandidates;
  /** Our record says we relay for others. */
  offersRelay: boolean;
}

/** Creates (does not start) the membership engine for `start`. */
export function createNodeSwim(start: MeshNodeStart, parts: NodeSwimParts): SwimEngine {
  const { identity, candidates } = parts;
  return new SwimEngine({
    crypto: start.crypto ?? createSwimCrypto(identity.seed, identity.publicKey),
    trust: parts.trust,
    certificate: parts.certificate,
    epoch: start.epoch,
    endpoints: [...candidates.advertised],
    nat: candidates.nat,
    seeds: start.seeds,
    profile: start.profile,
    config: start.config,
    random: start.random,
    recordFlags: parts.offersRelay ? ALIVE_FLAG_RELAY : 0,
  });
}
