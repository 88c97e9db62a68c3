/**
 * What the engine reports to the daemon. Member events carry a snapshot of the member's
 * signed record (endpoints, NAT type, epoch, incarnation) and the address we last
 * authenticated it at.
 */

import type { Address } from "./address.ts";
import type { NatTypeCode } from "./records.ts";

/** A member's liveness as this node sees it. */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** A snapshot of one member. */
export interface MemberInfo {
  /** Its Ed25519 public key. */
  publicKey: Uint8Array;
  /** Liveness as we see it. */
  state: MemberState;
  /** Boot epoch from its latest signed record (grows on restart). */
  epoch: number;
  /** Incarnation within that epoch. */
  incarnation: number;
  /** Endpoints it advertises (signed by it). */
  endpoints: Address[];
  /** NAT type it advertises (NatType code). */
  nat: NatTypeCode;
  /** Where we last heard it from (authenticated), or its first endpoint; may be unproven. */
  address: Address | null;
  /**
   * The latest address that answered our ping (null until one did): the only one safe to send
   * bulk traffic to, e.g. the WireGuard endpoint (security invariant 9).
   */
  verified: Address | null;
}

/** Every event the engine emits. */
export type SwimEvent =
  /** A member we did not know (or that had left or been removed) is now alive. */
  | { type: "joined"; member: MemberInfo }
  /** A suspected or dead member refuted and is alive again. */
  | { type: "alive"; member: MemberInfo; restarted: boolean }
  /** Our own probes of a member failed; it is suspected until it refutes or times out. */
  | { type: "suspect"; member: MemberInfo }
  /** The suspicion timed out: the member is considered failed. */
  | { type: "dead"; member: MemberInfo }
  /** The member announced a graceful leave (signed by itself). */
  | { type: "left"; member: MemberInfo }
  /** A live member's record or proven address changed, or it restarted. */
  | { type: "updated"; member: MemberInfo; restarted: boolean }
  /** A dead or left member's retention ended; it is no longer listed. */
  | { type: "removed"; member: MemberInfo }
  /** We reached the cluster (first authenticated answer after being alone). */
  | { type: "connected" }
  /** We know no live member any more; seeds are being retried. */
  | { type: "isolated" }
  /**
   * Our incarnation is at its maximum: we can no longer refute claims in this epoch until a
   * restart gives us a new one.
   */
  | { type: "incarnation-exhausted" };
