/**
 * The WireGuard cross-platform userspace API (the text protocol `wg` speaks over
 * `/var/run/wireguard/<ifname>.sock`): `get=1` renders the device, `set=1` applies a
 * configuration, errors are reported as `errno=-N` the way wireguard-go reports them.
 * Sans-IO: lines in, text out; the device layer owns the socket. A `set` is parsed into the
 * typed `DeviceConfig` and applied through `applyDeviceConfig`, as the mesh daemon's changes.
 */

import { decodeHex, encodeHex } from "../encoding/base64.ts";
import {
  applyDeviceConfig,
  type ConfigurableDevice,
  describeDevicePeers,
  type DeviceConfig,
  DeviceConfigError,
  type DeviceConfigFailure,
  type PeerChange,
  type PeerUpsert,
} from "./device_config.ts";
import { type Endpoint, EndpointParseError, parseEndpoint } from "./endpoint.ts";
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

/** What UAPI needs from the device: the same as a typed configuration. */
export type UapiDevice = ConfigurableDevice;

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

/** The order fields of one upsert apply in (`applyDeviceConfig`); see `parseUapiSet`. */
const FIELD_RANK = {
  preshared_key: 0,
  endpoint: 1,
  persistent_keepalive_interval: 2,
  replace_allowed_ips: 3,
  allowed_ip: 4,
} as const;

/**
 * Parses a `set=1` body (the lines after `set=1`, up to the blank line) into the typed
 * configuration; throws UapiError on malformed input, before anything is applied.
 *
 * UAPI applies line by line, a typed upsert field by field in a fixed order; so when a peer's
 * line comes out of that order or repeats a setting (`persistent_keepalive_interval=0` then
 * `=25`, which sends a keepalive at once), a second upsert of the same peer carries it.
 */
export function parseUapiSet(lines: string[]): DeviceConfig {
  const config: DeviceConfig = {};
  const peers: PeerChange[] = [];
  /** The changes of the current peer section (all one key), the last one open. */
  let section: PeerChange[] = [];
  let rank = -1;
  let removed = false;
  const current = (): PeerUpsert => section[section.length - 1] as PeerUpsert;
  const field = (key: keyof typeof FIELD_RANK, single: boolean): PeerUpsert => {
    const at = FIELD_RANK[key];
    if (at < rank || (at === rank && single)) {
      const next: PeerUpsert = { kind: "upsert", publicKey: current().publicKey };
      if (current().updateOnly) next.updateOnly = true;
      section.push(next);
    }
    rank = at;
    return current();
  };
  for (const line of lines) {
    if (line === "") break;
    const equals = line.indexOf("=");
    if (equals < 1) throw new UapiError(UAPI_ERRNO.EPROTO, `malformed line: ${line}`);
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (key === "public_key") {
      peers.push(...section);
      section = [{ kind: "upsert", publicKey: parseKey(value, "public_key") }];
      rank = -1;
      removed = false;
      continue;
    }
    if (section.length === 0) {
      // Device-level keys come before the first public_key.
      switch (key) {
        case "private_key":
          config.privateKey = parseKey(value, "private_key");
          continue;
        case "listen_port":
          config.listenPort = parseUnsigned(value, 65535, "listen_port");
          continue;
        case "fwmark":
          config.fwmark = parseUnsigned(value, 0xffffffff, "fwmark");
          continue;
        case "replace_peers":
          parseTrue(value, key);
          config.replacePeers = true;
          continue;
        default:
          throw new UapiError(UAPI_ERRNO.EINVAL, `unknown device key ${key}`);
      }
    }
    // The rest of a removed peer's section is skipped unread (as wireguard-go).
    if (removed) continue;
    switch (key) {
      case "update_only":
        parseTrue(value, key);
        // As wireguard-go: the whole section is skipped when the peer is not configured.
        for (const change of section) if (change.kind === "upsert") change.updateOnly = true;
        continue;
      case "remove":
        parseTrue(value, key);
        removed = true;
        section = [{ kind: "remove", publicKey: section[0].publicKey }];
        continue;
      case "protocol_version":
        if (value !== "1") {
          throw new UapiError(UAPI_ERRNO.EINVAL, `unsupported protocol_version ${value}`);
        }
        continue;
    }
    switch (key) {
      case "preshared_key": {
        const presharedKey = parseKey(value, "preshared_key");
        field(key, true).presharedKey = presharedKey;
        break;
      }
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
        field(key, true).endpoint = endpoint;
        break;
      }
      case "persistent_keepalive_interval": {
        const seconds = parseUnsigned(value, 65535, "persistent_keepalive_interval");
        field(key, true).persistentKeepalive = seconds;
        break;
      }
      case "replace_allowed_ips":
        parseTrue(value, key);
        field(key, true).replaceAllowedIps = true;
        break;
      case "allowed_ip": {
        const entry = parseAllowedIp(value);
        const change = field(key, false);
        (change.allowedIps ??= []).push(entry);
        break;
      }
      default:
        throw new UapiError(UAPI_ERRNO.EINVAL, `unknown peer key ${key}`);
    }
  }
  peers.push(...section);
  if (peers.length > 0) config.peers = peers;
  return config;
}

/** Applies a `set=1` body (the lines after `set=1`, up to the blank line). */
export function applyUapiSet(device: UapiDevice, lines: string[]): void {
  const config = parseUapiSet(lines);
  try {
    applyDeviceConfig(device, config);
  } catch (error) {
    if (error instanceof DeviceConfigError) {
      throw new UapiError(FAILURE_ERRNO[error.failure], error.message);
    }
    throw error;
  }
}

/** The errno wireguard-go answers each typed failure with. */
const FAILURE_ERRNO: Record<DeviceConfigFailure, number> = {
  "own-key": UAPI_ERRNO.EINVAL,
  "peer-limit": UAPI_ERRNO.EINVAL,
  "allowed-ip": UAPI_ERRNO.EINVAL,
  "address-in-use": UAPI_ERRNO.EADDRINUSE,
  "device-failed": UAPI_ERRNO.EIO,
};

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
  for (const peer of describeDevicePeers(device)) {
    lines.push(`public_key=${encodeHex(peer.publicKey)}`);
    lines.push(`preshared_key=${encodeHex(peer.presharedKey)}`);
    peer.presharedKey.fill(0);
    lines.push("protocol_version=1");
    if (peer.endpoint) lines.push(`endpoint=${peer.endpoint}`);
    const handshake = peer.lastHandshake ?? 0;
    lines.push(`last_handshake_time_sec=${Math.floor(handshake / 1000)}`);
    lines.push(`last_handshake_time_nsec=${(handshake % 1000) * 1_000_000}`);
    lines.push(`tx_bytes=${peer.txBytes}`);
    lines.push(`rx_bytes=${peer.rxBytes}`);
    lines.push(`persistent_keepalive_interval=${peer.persistentKeepalive}`);
    for (const entry of peer.allowedIps) lines.push(`allowed_ip=${entry}`);
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
