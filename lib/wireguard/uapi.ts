/**
 * The WireGuard cross-platform userspace API (the text protocol `wg` speaks over
 * `/var/run/wireguard/<ifname>.sock`): `get=1` renders the device, `set=1` applies a
 * configuration, errors are reported as `errno=-N` the way wireguard-go reports them.
 * Sans-IO: lines in, text out; the device layer owns the socket.
 */

import { decodeHex, encodeHex } from "../encoding/base64.ts";
import { AllowedIpError, formatAllowedIp } from "./allowed_ips.ts";
import { type Endpoint, EndpointParseError, formatEndpoint, parseEndpoint } from "./endpoint.ts";
import type { WireguardEngine } from "./engine.ts";
import { parseIpv4, parseIpv6 } from "../net/ip_address.ts";

/** errno values wireguard-go reports (negated on the wire). */
export const UAPI_ERRNO = {
  EIO: 5,
  EINVAL: 22,
  EADDRINUSE: 98,
  EPROTO: 71,
} as const;

/** A UAPI request that cannot be applied; `errno` goes on the wire as `errno=-N`. */
export class UapiError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

/** What UAPI needs from the device beyond the engine: its socket settings and clock. */
export interface UapiDevice {
  engine: WireguardEngine;
  /** Current listen port (0 when not bound). */
  listenPort(): number;
  /** Rebinds the UDP socket; throws UapiError(EADDRINUSE) when taken. */
  setListenPort(port: number): void;
  fwmark(): number;
  setFwmark(mark: number): void;
  /** Engine time now (monotonic ms). */
  now(): number;
  /** Wall-clock ms corresponding to engine time `t` (for last_handshake_time). */
  wallClockAt(t: number): number;
}

function parseKey(value: string, what: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new UapiError(UAPI_ERRNO.EINVAL, `${what} must be 64 lowercase hex characters`);
  }
  return decodeHex(value);
}

function parseUnsigned(value: string, max: number, what: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > max) {
    throw new UapiError(UAPI_ERRNO.EINVAL, `${what} must be an integer 0-${max}`);
  }
  return Number(value);
}

function parseTrue(value: string, key: string): void {
  if (value !== "true") throw new UapiError(UAPI_ERRNO.EINVAL, `${key} only takes the value true`);
}

function parseAllowedIp(value: string): { address: Uint8Array; cidr: number } {
  const slash = value.lastIndexOf("/");
  const text = slash < 0 ? value : value.slice(0, slash);
  const address = parseIpv4(text) ?? parseIpv6(text);
  if (!address) throw new UapiError(UAPI_ERRNO.EINVAL, `invalid allowed_ip ${value}`);
  const cidr = slash < 0
    ? address.length * 8
    : parseUnsigned(value.slice(slash + 1), address.length * 8, "allowed_ip prefix length");
  return { address, cidr };
}

/** Applies a `set=1` body (the lines after `set=1`, up to the blank line). */
export function applyUapiSet(device: UapiDevice, lines: string[]): void {
  const { engine } = device;
  const now = device.now();
  let peerKey: Uint8Array | null = null;
  let skipPeer = false;
  let createdPeer = false;
  for (const line of lines) {
    if (line === "") break;
    const equals = line.indexOf("=");
    if (equals < 1) throw new UapiError(UAPI_ERRNO.EPROTO, `malformed line: ${line}`);
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (peerKey === null) {
      // Device-level keys come before the first public_key.
      switch (key) {
        case "private_key": {
          engine.setPrivateKey(parseKey(value, "private_key"), now);
          continue;
        }
        case "listen_port":
          device.setListenPort(parseUnsigned(value, 65535, "listen_port"));
          continue;
        case "fwmark":
          device.setFwmark(parseUnsigned(value, 0xffffffff, "fwmark"));
          continue;
        case "replace_peers":
          parseTrue(value, key);
          for (const peer of engine.peers()) engine.removePeer(peer.publicKey);
          continue;
        case "public_key":
          break;
        default:
          throw new UapiError(UAPI_ERRNO.EINVAL, `unknown device key ${key}`);
      }
    }
    if (key === "public_key") {
      peerKey = parseKey(value, "public_key");
      skipPeer = false;
      // As wireguard-go: the peer exists from its public_key line on (update_only undoes it).
      createdPeer = engine.peer(peerKey) === undefined;
      try {
        engine.upsertPeer(peerKey, {}, now);
      } catch (error) {
        throw new UapiError(UAPI_ERRNO.EINVAL, (error as Error).message);
      }
      continue;
    }
    if (key === "update_only") {
      parseTrue(value, key);
      if (createdPeer && !skipPeer) {
        engine.removePeer(peerKey!);
        skipPeer = true;
      }
      continue;
    }
    if (skipPeer) continue;
    const publicKey = peerKey!;
    if (key === "remove") {
      parseTrue(value, key);
      engine.removePeer(publicKey);
      skipPeer = true;
      continue;
    }
    const peer = engine.peer(publicKey)!;
    switch (key) {
      case "preshared_key":
        engine.upsertPeer(publicKey, { presharedKey: parseKey(value, "preshared_key") }, now);
        break;
      case "endpoint": {
        let endpoint: Endpoint;
        try {
          endpoint = parseEndpoint(value);
        } catch (error) {
          if (error instanceof EndpointParseError) {
            throw new UapiError(UAPI_ERRNO.EINVAL, error.message);
          }
          throw error;
        }
        engine.upsertPeer(publicKey, { endpoint }, now);
        break;
      }
      case "persistent_keepalive_interval":
        engine.upsertPeer(publicKey, {
          persistentKeepalive: parseUnsigned(value, 65535, "persistent_keepalive_interval"),
        }, now);
        break;
      case "replace_allowed_ips":
        parseTrue(value, key);
        engine.allowedIps.removeOwner(peer);
        break;
      case "allowed_ip": {
        const { address, cidr } = parseAllowedIp(value);
        try {
          engine.allowedIps.insert(address, cidr, peer);
        } catch (error) {
          if (error instanceof AllowedIpError) {
            throw new UapiError(UAPI_ERRNO.EINVAL, error.message);
          }
          throw error;
        }
        break;
      }
      case "protocol_version":
        if (value !== "1") {
          throw new UapiError(UAPI_ERRNO.EINVAL, `unsupported protocol_version ${value}`);
        }
        break;
      default:
        throw new UapiError(UAPI_ERRNO.EINVAL, `unknown peer key ${key}`);
    }
  }
}

/** Renders the `get=1` answer (without the trailing `errno=0` line). */
export function renderUapiGet(device: UapiDevice): string {
  const { engine } = device;
  const privateKey = engine.configuredPrivateKey();
  const lines: string[] = [];
  if (privateKey) {
    lines.push(`private_key=${encodeHex(privateKey)}`);
    privateKey.fill(0);
  }
  if (device.listenPort() !== 0) lines.push(`listen_port=${device.listenPort()}`);
  if (device.fwmark() !== 0) lines.push(`fwmark=${device.fwmark()}`);
  for (const peer of engine.peers()) {
    lines.push(`public_key=${encodeHex(peer.publicKey)}`);
    lines.push(`preshared_key=${encodeHex(peer.presharedKey)}`);
    lines.push("protocol_version=1");
    if (peer.endpoint) lines.push(`endpoint=${formatEndpoint(peer.endpoint)}`);
    const handshake = peer.lastHandshakeAt === null ? 0 : device.wallClockAt(peer.lastHandshakeAt);
    lines.push(`last_handshake_time_sec=${Math.floor(handshake / 1000)}`);
    lines.push(`last_handshake_time_nsec=${(handshake % 1000) * 1_000_000}`);
    lines.push(`tx_bytes=${peer.txBytes}`);
    lines.push(`rx_bytes=${peer.rxBytes}`);
    lines.push(`persistent_keepalive_interval=${peer.persistentKeepalive}`);
    for (const entry of engine.allowedIps.entriesOf(peer)) {
      lines.push(`allowed_ip=${formatAllowedIp(entry)}`);
    }
  }
  return lines.map((line) => line + "\n").join("");
}

/**
 * Handles one whole request (`get=1\n\n` or `set=1\n…\n\n`) and returns the whole response,
 * ending with `errno=N` and a blank line. Null when the operation is unknown (the connection
 * is then closed, as wireguard-go does).
 */
export function handleUapiRequest(
  device: UapiDevice,
  request: string,
): string | null {
  const lines = request.split("\n");
  const operation = lines.shift();
  let body = "";
  let errno = 0;
  try {
    if (operation === "get=1") body = renderUapiGet(device);
    else if (operation === "set=1") applyUapiSet(device, lines);
    else return null;
  } catch (error) {
    if (!(error instanceof UapiError)) throw error;
    errno = error.errno;
  }
  return `${body}errno=${errno === 0 ? 0 : -errno}\n\n`;
}
