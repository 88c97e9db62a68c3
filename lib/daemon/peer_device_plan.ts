/**
 * How one mesh peer is written to the WireGuard device: the typed upserts (keepalive, endpoint,
 * allowed IPs: its /32 only when it holds its mesh IPv4) or the removal that bring the device's
 * view of the peer in line with what the mesh wants. Pure: changes out, nothing applied.
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { meshIpv4Bytes, meshIpv6Bytes } from "../identity/mesh_address.ts";
import type { PeerUpsert } from "../wireguard/device_config.ts";
import { parseEndpoint } from "../wireguard/endpoint.ts";
import type { MeshPeer, PeerChanges } from "./mesh_peers.ts";

/**
 * Persistent keepalive given to every mesh peer (seconds): it makes both sides handshake as
 * soon as they meet, keeps NAT mappings open, and lets a dead tunnel show in the counters.
 */
export const MESH_PERSISTENT_KEEPALIVE = 25;

/**
 * Brings the device's view of `peer` in line with what the mesh wants (`ownsIpv4`: its mesh
 * IPv4 was settled to it); the changes go to `changes`, and `peer` records what was written.
 */
export function syncPeer(peer: MeshPeer, ownsIpv4: boolean, changes: PeerChanges): void {
  const wanted = peer.state === "alive" || peer.state === "suspect";
  if (!wanted) {
    removePeer(peer, changes);
    return;
  }
  const upsert: PeerUpsert = { kind: "upsert", publicKey: peer.wireguardKey };
  /** Set after the endpoint (a second upsert): turns keepalive on again, see below. */
  let restart: PeerUpsert | null = null;
  if (!peer.configured) upsert.persistentKeepalive = MESH_PERSISTENT_KEEPALIVE;
  if (peer.endpoint !== null && peer.endpoint !== peer.configuredEndpoint) {
    // The endpoint applies before the keepalive: the keepalive it triggers goes there.
    upsert.endpoint = parseEndpoint(peer.endpoint);
    if (peer.configured && peer.configuredEndpoint === null) {
      // Its first endpoint (membership just verified it): turning persistent keepalive off and
      // on sends a keepalive at once, so we handshake now, not at the next 25 s tick (the
      // soak measured ~26 s from rejoin to handshake without this).
      upsert.persistentKeepalive = 0;
      restart = {
        kind: "upsert",
        publicKey: peer.wireguardKey,
        persistentKeepalive: MESH_PERSISTENT_KEEPALIVE,
      };
    }
  }
  if (!peer.configured || ownsIpv4 !== peer.configuredIpv4) {
    const routes = restart ?? upsert;
    routes.replaceAllowedIps = true;
    routes.allowedIps = [
      ...(ownsIpv4 ? [{ address: meshIpv4Bytes(peer.publicKey), cidr: 32 }] : []),
      { address: meshIpv6Bytes(peer.publicKey), cidr: 128 },
    ];
  }
  const changed = upsert.persistentKeepalive !== undefined || upsert.endpoint !== undefined ||
    upsert.allowedIps !== undefined;
  if (!changed) return;
  changes.peers.push(upsert);
  if (restart !== null) changes.peers.push(restart);
  if (!peer.configured) {
    changes.logs.push({
      level: "debug",
      message: `adding WireGuard peer ${peer.name} ${
        encodeBase64(peer.wireguardKey)
      } at ${peer.endpoint}`,
    });
  }
  peer.configured = true;
  if (peer.endpoint !== null) peer.configuredEndpoint = peer.endpoint;
  peer.configuredIpv4 = ownsIpv4;
}

/** Takes `peer` off the device when it is configured there. */
export function removePeer(peer: MeshPeer, changes: PeerChanges): void {
  if (!peer.configured) return;
  changes.peers.push({ kind: "remove", publicKey: peer.wireguardKey });
  changes.logs.push({ level: "info", message: `tunnel to ${peer.name} removed` });
  peer.configured = false;
  peer.configuredEndpoint = null;
  peer.configuredIpv4 = null;
}
