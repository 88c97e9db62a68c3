/**
 * What a mesh node reports about itself: the `meshguard status` document built from the peer
 * table, membership, the device's counters, relays and STUN, and the "tunnel up/down" log lines
 * followed from handshake times.
 */

import { decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { Logger } from "../log/logger.ts";
import type { SwimEngine } from "../swim/engine.ts";
import { REJECT_AFTER_TIME } from "../wireguard/constants.ts";
import type { DevicePeer } from "../wireguard/device_config.ts";
import type { DaemonStatus, PeerStatus, RelayServingStatus } from "../control/control_protocol.ts";
import { VERSION } from "../version.ts";
import type { MeshPeer, MeshPeers } from "./mesh_peers.ts";
import { describeNameConflict } from "./member_names.ts";
import type { NodeStun } from "./node_stun.ts";
import type { NodeRelays } from "./node_relays.ts";
import type { StatusContext } from "./node_options.ts";

/** The device's peers by WireGuard public key (hex); empty without a device. */
export function devicePeersByKey(
  device: { devicePeers(): DevicePeer[] } | null,
): Map<string, DevicePeer> {
  const peers = new Map<string, DevicePeer>();
  for (const peer of device?.devicePeers() ?? []) peers.set(encodeHex(peer.publicKey), peer);
  return peers;
}

/** Which tunnels are up, so that only changes are logged. */
export class TunnelWatch {
  #up = new Set<string>();

  /** Logs the tunnels that came up or went down since the last call. */
  poll(
    peers: Iterable<MeshPeer>,
    devicePeers: ReadonlyMap<string, DevicePeer>,
    now: number,
    log: Logger,
  ): void {
    for (const peer of peers) {
      const state = devicePeers.get(encodeHex(peer.wireguardKey));
      const up = state !== undefined && state.lastHandshake !== null &&
        now - state.lastHandshake < REJECT_AFTER_TIME;
      if (up && !this.#up.has(peer.id)) {
        this.#up.add(peer.id);
        log.info(`tunnel to ${peer.name} (${peer.meshIpv4}) up, endpoint ${state.endpoint}`);
      } else if (!up && this.#up.has(peer.id)) {
        this.#up.delete(peer.id);
        log.info(`tunnel to ${peer.name} down`);
      }
    }
  }
}

/** What `nodeStatus` reads. */
export interface NodeStatusInput {
  context: StatusContext;
  publicKey: Uint8Array;
  peers: MeshPeers;
  swim: SwimEngine | null;
  devicePeers: ReadonlyMap<string, DevicePeer>;
  relays: NodeRelays | null;
  stun: NodeStun | null;
  open: boolean;
  trustedOrgs: number;
}

/** The `meshguard status` document of one node. */
export function nodeStatus(input: NodeStatusInput): DaemonStatus {
  const { context, publicKey, peers: table } = input;
  const counts = { alive: 0, suspect: 0, dead: 0 };
  const peers: PeerStatus[] = [];
  for (const peer of table.peers()) {
    const member = input.swim?.member(peer.publicKey) ?? null;
    if (member === null) continue;
    if (member.state === "alive" || member.state === "suspect" || member.state === "dead") {
      counts[member.state]++;
    }
    const device = input.devicePeers.get(encodeHex(peer.wireguardKey));
    const endpoint = device?.endpoint ?? peer.endpoint;
    const relay = input.relays?.relayOf(peer.publicKey, endpoint) ?? null;
    peers.push({
      name: peer.name,
      dns_name: table.names.nameOf(peer.publicKey),
      public_key: encodeBase64(peer.publicKey),
      wireguard_public_key: encodeBase64(peer.wireguardKey),
      mesh_ipv4: peer.configuredIpv4 === false ? null : peer.meshIpv4,
      mesh_ipv6: peer.meshIpv6,
      state: member.state,
      endpoint,
      candidates: [...member.endpoints],
      last_handshake: device?.lastHandshake ? new Date(device.lastHandshake).toISOString() : null,
      rx_bytes: device?.rxBytes ?? 0,
      tx_bytes: device?.txBytes ?? 0,
      connection: relay === null ? "direct" : "relay",
      ...(relay === null ? {} : { relay: table.peer(decodeHex(relay))?.name ?? relay }),
    });
  }
  return {
    version: VERSION,
    pid: context.pid,
    interface: context.interface,
    port: context.port,
    public_key: encodeBase64(publicKey),
    wireguard_public_key: encodeBase64(wireguardPublicKeyOf(publicKey)),
    mesh_ipv4: meshIpv4(publicKey),
    mesh_ipv6: meshIpv6(publicKey),
    dns_name: table.names.selfName,
    name_conflicts: table.names.conflicts().map(describeNameConflict),
    open: input.open,
    trusted_orgs: input.trustedOrgs,
    members: counts,
    max_members: table.maxMembers,
    refused_members: table.refusedMembers,
    ipv4_conflicts: table.ipv4Conflicts(),
    nat: input.stun?.summary() ?? { mapped_v4: null, mapped_v6: null, mapping: "unknown" },
    peers,
    ...relayServing(table, input.relays),
  };
}

/** On a relay node: `relay_serving`, its counters and pairs by member name. */
function relayServing(
  table: MeshPeers,
  relays: NodeRelays | null,
): { relay_serving?: RelayServingStatus } {
  const names = new Map<string, string>();
  for (const peer of table.peers()) {
    names.set(encodeHex(peer.publicKey.subarray(0, 8)), peer.name);
  }
  const serving = relays?.serving((id) => names.get(id) ?? id) ?? null;
  return serving === null ? {} : { relay_serving: serving };
}
