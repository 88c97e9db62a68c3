/**
 * The shapes a mesh node is built and started with (`MeshNode` in `mesh_node.ts`): the device
 * it drives, its options, its start parameters and what only the shell knows for `status`.
 */

import type { Identity } from "../identity/identity.ts";
import type { Logger } from "../log/logger.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import type { SwimConfig, SwimProfileName } from "../swim/profiles.ts";
import type { SwimCrypto } from "../swim/swim_crypto.ts";
import type { NatTypeCode } from "../swim/records.ts";
import type { DeviceConfig, DeviceConfigResult, DevicePeer } from "../wireguard/device_config.ts";
import type { StunSetting } from "./node_stun.ts";
import type { RelayLimits } from "../relay/relay_table.ts";
import type { RelayDevice } from "./node_relays.ts";
import type { PeerFilter } from "../controller/peer_gate.ts";
import type { OrgControl } from "../org/org_messages.ts";

/** What a node needs from its WireGuard device (real, in-process, or none for gossip only). */
export interface MeshDevice extends RelayDevice {
  /** Applies typed changes in order; throws DeviceConfigError. */
  configure(config: DeviceConfig): DeviceConfigResult;
  /** Sends membership datagrams from the mesh port (best effort). */
  sendDatagrams(datagrams: ForeignDatagram[]): void;
  /**
   * A new path to the peer with WireGuard key `publicKey` became usable (a relayed route, a
   * punched direct path): start a handshake now unless a session is current or one just went out
   * (the engine's FRESH_PATH_INITIATION_GAP), rather than wait out WireGuard's 5 s retry after an
   * initiation that was lost. Absent on a device without WireGuard (gossip only).
   */
  initiateHandshake?(publicKey: Uint8Array): void;
  /** The configured peers: endpoints, handshakes, counters, allowed IPs. */
  devicePeers(): DevicePeer[];
  /** Stops the device and releases what it holds. */
  stop(): Promise<void>;
}

/** How a node is built. */
export interface MeshNodeOptions {
  identity: Identity;
  /** Admit every key (explicit `--open`). */
  open: boolean;
  /** With `open`: the most members admitted without trust (`--max-members`). */
  maxMembers?: number;
  /** This node's own mesh name (see `member_names.ts`), or null. */
  selfName?: string | null;
  log: Logger;
  /** Wall-clock ms (for "tunnel up" against handshake times); default Date.now. */
  wallClock?: () => number;
  /** Called after every step with membership's next deadline (Infinity: none). */
  onSchedule?: (deadline: number) => void;
  /** Called when the recorded IPv4 holders changed (the shell saves them). */
  onRecordsChanged?: () => void;
  /** Called with each org decision heard by gossip and applied (the shell persists it). */
  onOrgControl?: (message: OrgControl) => void;
  /**
   * Called when org membership may have moved (a certificate admitted a member, or admission
   * was revalidated); `MeshNode.org.version` says whether it did (service policies follow it).
   */
  onOrgChange?: () => void;
  /**
   * Called when the node's reflexive endpoints (what STUN servers saw of the mesh port) changed;
   * `MeshNode.mappedEndpoints` reads them at any time.
   */
  onMappedEndpoints?: (endpoints: string[]) => void;
  /** Admission control (`up --controller`): peer changes pass through it to the device. */
  peerFilter?: PeerFilter;
}

/** How membership starts (`MeshNode.start`). */
export interface MeshNodeStart {
  device: MeshDevice;
  /** Boot epoch: grows on every restart. */
  epoch: number;
  /** Interface endpoints we advertise (numeric `ip:port`). */
  endpoints: string[];
  /** `--announce` endpoints (numeric `ip:port`), advertised first. */
  announce?: string[];
  /** Our NAT type, if known (NatType; default unknown). */
  nat?: NatTypeCode;
  /** Seeds to join through (numeric `ip:port`, our own excluded). */
  seeds: string[];
  /** Membership's crypto (default: real, from the identity). */
  crypto?: SwimCrypto;
  profile?: SwimProfileName;
  config?: Partial<SwimConfig>;
  /** Seeded PRNG for reproducible runs (default Math.random). */
  random?: () => number;
  /** Where STUN answers come from (default: members; see `node_stun.ts`). */
  stun?: StunSetting;
  /** Fills STUN transaction IDs (default: crypto.getRandomValues; tests seed it). */
  stunRandom?: (bytes: Uint8Array) => void;
  /** Relay WireGuard datagrams between trusted members (`--relay`), advertised in our record. */
  relay?: boolean;
  /** Our org certificate (`node.cert`), carried in our signed record. */
  certificate?: Uint8Array | null;
  /** The relay's limits (tests); default DEFAULT_RELAY_LIMITS. */
  relayLimits?: Partial<RelayLimits>;
}

/** Who the node is to `status`: what only the shell knows. */
export interface StatusContext {
  pid: number;
  /** The TUN interface ("" gossip only). */
  interface: string;
  port: number;
}
