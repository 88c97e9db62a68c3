/**
 * Typed configuration of a WireGuard device: the one way peers, keys and the port change. The
 * mesh daemon builds `DeviceConfig` values directly; `wg`'s UAPI text is parsed into the same
 * type (`uapi.ts`), so both go through `applyDeviceConfig` and nothing checks answer text.
 */

import { constantTimeEqual } from "../encoding/constant_time.ts";
import { MeshguardError } from "../errors.ts";
import { type AllowedIp, AllowedIpError, formatAllowedIp } from "./allowed_ips.ts";
import { type Endpoint, formatEndpoint } from "./endpoint.ts";
import type { WireguardEngine } from "./engine.ts";

/** Adds a peer or updates it; fields left out keep their value. */
export interface PeerUpsert {
  kind: "upsert";
  /** The peer's X25519 public key. */
  publicKey: Uint8Array;
  /** Only update a configured peer; never create one (UAPI `update_only`). */
  updateOnly?: boolean;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  /** Seconds; 0 turns it off. Turning it on sends a keepalive at once (as the kernel). */
  persistentKeepalive?: number;
  /** Drop the peer's allowed IPs before `allowedIps` are added. */
  replaceAllowedIps?: boolean;
  /** Networks routed to the peer (host bits are cleared on insertion). */
  allowedIps?: AllowedIp[];
}

/** Removes a peer (nothing happens when it is not configured). */
export interface PeerRemoval {
  kind: "remove";
  publicKey: Uint8Array;
}

/** One change to one peer; a list of them applies in order. */
export type PeerChange = PeerUpsert | PeerRemoval;

/**
 * One configuration step. Device settings apply first (private key, port, fwmark, then
 * `replacePeers`), then `peers` in order; fields of one upsert apply in the order they are
 * declared above (the endpoint before the keepalive that is sent to it).
 */
export interface DeviceConfig {
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  /** Remove every peer before `peers` apply. */
  replacePeers?: boolean;
  peers?: PeerChange[];
}

/** Why a configuration could not be applied. */
export type DeviceConfigFailure =
  | "own-key" // a peer with the device's own public key
  | "peer-limit" // the device holds no more peers
  | "allowed-ip" // an address that is neither 4 nor 16 bytes, or a prefix out of range
  | "address-in-use" // the listen port could not be bound
  | "device-failed"; // the device is stopped or its data path died

/**
 * Thrown by `applyDeviceConfig` (and the devices' `configure`); whatever came before the
 * failing change stays applied, as with `wg set`.
 */
export class DeviceConfigError extends MeshguardError {
  constructor(readonly failure: DeviceConfigFailure, message: string) {
    super(message);
  }
}

/** What a configuration did. */
export interface DeviceConfigResult {
  added: number;
  updated: number;
  removed: number;
}

/** What applying a configuration needs from a device beyond its engine. */
export interface ConfigurableDevice {
  engine: WireguardEngine;
  /** Current listen port (0 when not bound). */
  listenPort(): number;
  /** Rebinds the UDP socket; throws DeviceConfigError("address-in-use") when taken. */
  setListenPort(port: number): void;
  fwmark(): number;
  setFwmark(mark: number): void;
  /** Engine time now (monotonic ms). */
  now(): number;
  /** Wall-clock ms corresponding to engine time `t` (for last_handshake_time). */
  wallClockAt(t: number): number;
}

/** Applies `config` to the device's engine, in order; see `DeviceConfig`. */
export function applyDeviceConfig(
  device: ConfigurableDevice,
  config: DeviceConfig,
): DeviceConfigResult {
  const { engine } = device;
  const now = device.now();
  const result: DeviceConfigResult = { added: 0, updated: 0, removed: 0 };
  if (config.privateKey !== undefined) engine.setPrivateKey(config.privateKey, now);
  if (config.listenPort !== undefined) device.setListenPort(config.listenPort);
  if (config.fwmark !== undefined) device.setFwmark(config.fwmark);
  if (config.replacePeers) {
    for (const peer of engine.peers()) {
      engine.removePeer(peer.publicKey);
      result.removed++;
    }
  }
  for (const change of config.peers ?? []) {
    if (change.kind === "remove") {
      if (engine.peer(change.publicKey) === undefined) continue;
      engine.removePeer(change.publicKey);
      result.removed++;
      continue;
    }
    const exists = engine.peer(change.publicKey) !== undefined;
    if (change.updateOnly && !exists) continue;
    if (constantTimeEqual(change.publicKey, engine.publicKey)) {
      throw new DeviceConfigError("own-key", "a peer cannot have this device's own public key");
    }
    let peer;
    try {
      peer = engine.upsertPeer(change.publicKey, {
        presharedKey: change.presharedKey,
        endpoint: change.endpoint,
        persistentKeepalive: change.persistentKeepalive,
      }, now);
    } catch (error) {
      // The only other refusal: every peer row is taken.
      if (!(error instanceof RangeError)) throw error;
      throw new DeviceConfigError("peer-limit", error.message);
    }
    if (exists) result.updated++;
    else result.added++;
    if (change.replaceAllowedIps) engine.allowedIps.removeOwner(peer);
    for (const entry of change.allowedIps ?? []) {
      try {
        engine.allowedIps.insert(entry.address, entry.cidr, peer);
      } catch (error) {
        if (!(error instanceof AllowedIpError)) throw error;
        throw new DeviceConfigError("allowed-ip", error.message);
      }
    }
  }
  return result;
}

/** One configured peer as a device reports it (what `wg show` and `status` print). */
export interface DevicePeer {
  publicKey: Uint8Array;
  presharedKey: Uint8Array;
  /** `ip:port` or `[ip6]:port`, or null when it has none yet. */
  endpoint: string | null;
  /** Wall-clock ms of the last handshake, or null when there was none. */
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number;
  /** `10.99.1.2/32`-style networks, in the routing table's order. */
  allowedIps: string[];
}

/** Every configured peer of the device, in insertion order. */
export function describeDevicePeers(device: ConfigurableDevice): DevicePeer[] {
  const { engine } = device;
  return engine.peers().map((peer) => ({
    publicKey: peer.publicKey.slice(),
    presharedKey: peer.presharedKey.slice(),
    endpoint: peer.endpoint ? formatEndpoint(peer.endpoint) : null,
    lastHandshake: peer.lastHandshakeAt === null ? null : device.wallClockAt(peer.lastHandshakeAt),
    rxBytes: peer.rxBytes,
    txBytes: peer.txBytes,
    persistentKeepalive: peer.persistentKeepalive,
    allowedIps: engine.allowedIps.entriesOf(peer).map(formatAllowedIp),
  }));
}
