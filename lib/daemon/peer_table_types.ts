/**
 * The shapes of the mesh's peer table (`mesh_peers.ts`, which re-exports them): a trusted key,
 * one peer's record (membership state, endpoints, what was written to the device), a change's
 * outcome (device changes and log lines), and the table's options.
 */

import type { PeerChange } from "../wireguard/device_config.ts";
import type { MemberState } from "../swim/events.ts";
import type { OrgTrust } from "../org/org_trust.ts";

/** One key the node trusts, with the name it is trusted under. */
export interface TrustedEntry {
  name: string;
  publicKey: Uint8Array;
}

/** What the mesh knows about one peer (trusted, and seen by membership or configured). */
export interface MeshPeer {
  /** Hex of the Ed25519 key (sorts like the bytes). */
  readonly id: string;
  name: string;
  readonly publicKey: Uint8Array;
  readonly wireguardKey: Uint8Array;
  readonly meshIpv4: string;
  readonly meshIpv6: string;
  /** Membership state, or null when membership has not reported it yet. */
  state: MemberState | null;
  /** The WireGuard endpoint wanted: `verified`, else `relayEndpoint`, else null. */
  endpoint: string | null;
  /** Where membership last proved it receives (a ping there was acked); null until then. */
  verified: string | null;
  /** Its virtual endpoint through a relay (lib/relay/), or null. */
  relayEndpoint: string | null;
  /** The peer is configured on the device. */
  configured: boolean;
  /** The endpoint last written to the device. */
  configuredEndpoint: string | null;
  /** Whether its mesh IPv4 was routed to it on the device (false: another key holds it). */
  configuredIpv4: boolean | null;
  /** Admitted only by --open: it counts against the member cap. */
  capped?: boolean;
}

/** The outcome of a change: device changes to apply in order, and log lines. */
export interface PeerChanges {
  peers: PeerChange[];
  logs: { level: "info" | "warn" | "debug"; message: string }[];
}

/** Options of a peer table. */
export interface MeshPeersOptions {
  /** With --open: the most members admitted without trust (default DEFAULT_MAX_MEMBERS). */
  maxMembers?: number;
  /** This node's own mesh name (`<host>.mesh`), or null for none. */
  selfName?: string | null;
  /** Org trust (certificates, vouches, revocations); none: keys and --open only. */
  org?: OrgTrust;
}
