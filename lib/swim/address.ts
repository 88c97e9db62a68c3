/**
 * Member addresses (not WireGuard's binary `Endpoint`, which is wireguard/endpoint.ts's): the
 * `ip:port` text the engine uses, its binary form inside signed records (`family u8 (4|6) |
 * address (4|16) | port u16 LE`), and the seed parser. Name resolution is the daemon's job; the
 * engine only ever sees numeric addresses.
 */

import { formatIpAddress, parseIpv4, parseIpv6 } from "../net/ip_address.ts";
import { SwimAddressError } from "./swim_errors.ts";

/** An address as the engine uses it: `a.b.c.d:port` or `[v6]:port`. */
export type Address = string;

/** A seed as configured: a host name or IP literal and a port, not yet resolved. */
export interface SeedSpec {
  /** Host name, IPv4 literal, or IPv6 literal without brackets. */
  host: string;
  /** UDP port. */
  port: number;
}

/** The default meshguard UDP port, used when a seed omits its port. */
export const DEFAULT_SWIM_PORT = 51821;

function parsePort(text: string, whole: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) {
    throw new SwimAddressError(`"${whole}": port "${text}" is not a number 1..65535`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw new SwimAddressError(`"${whole}": port ${port} is outside 1..65535`);
  }
  return port;
}

/**
 * Parses a seed `host:port`, `[v6]:port` or bare `host` (port 51821). Host names are checked
 * for shape only (letters, digits, '-', '.'); resolving them is left to the caller.
 */
export function parseSeed(text: string): SeedSpec {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new SwimAddressError("empty seed; expected host:port");
  let host: string;
  let port = DEFAULT_SWIM_PORT;
  if (trimmed.startsWith("[")) {
    const close = trimmed.indexOf("]");
    if (close < 0) throw new SwimAddressError(`"${text}": missing ']' after the IPv6 address`);
    host = trimmed.slice(1, close);
    const rest = trimmed.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(":")) throw new SwimAddressError(`"${text}": expected ':' after ']'`);
      port = parsePort(rest.slice(1), text);
    }
    if (parseIpv6(host) === null) {
      throw new SwimAddressError(`"${text}": "${host}" is not an IPv6 address`);
    }
    return { host, port };
  }
  const colons = trimmed.split(":").length - 1;
  if (colons > 1) {
    throw new SwimAddressError(`"${text}": write IPv6 seeds in brackets, e.g. [2001:db8::1]:51821`);
  }
  if (colons === 1) {
    const at = trimmed.lastIndexOf(":");
    host = trimmed.slice(0, at);
    port = parsePort(trimmed.slice(at + 1), text);
  } else {
    host = trimmed;
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host)) {
    throw new SwimAddressError(`"${text}": "${host}" is not a host name or IPv4 address`);
  }
  return { host, port };
}

/** Bytes one endpoint takes in a record. */
export function endpointBytes(address: Address): number {
  return address.startsWith("[") ? 19 : 7;
}

/** Writes `address` at `offset` in binary form; returns the new offset. */
export function writeEndpoint(out: Uint8Array, offset: number, address: Address): number {
  const at = address.lastIndexOf(":");
  if (at < 0) throw new SwimAddressError(`"${address}" is not ip:port`);
  const port = parsePort(address.slice(at + 1), address);
  const hostText = address.slice(0, at);
  let ip: Uint8Array | null;
  if (hostText.startsWith("[") && hostText.endsWith("]")) {
    ip = parseIpv6(hostText.slice(1, -1));
    out[offset] = 6;
  } else {
    ip = parseIpv4(hostText);
    out[offset] = 4;
  }
  if (ip === null) throw new SwimAddressError(`"${address}" is not a numeric ip:port`);
  out.set(ip, offset + 1);
  const end = offset + 1 + ip.length;
  out[end] = port & 0xff;
  out[end + 1] = port >> 8;
  return end + 2;
}

/** Checks that `address` is numeric `ip:port` text the codec can carry. */
export function assertAddress(address: Address): void {
  writeEndpoint(new Uint8Array(19), 0, address);
}

/**
 * Reads an endpoint at `offset` that must end by `end` (default: the end of `bytes`); returns
 * the text and the new offset, or null if malformed.
 */
export function readEndpoint(
  bytes: Uint8Array,
  offset: number,
  end: number = bytes.length,
): { address: Address; next: number } | null {
  if (offset >= end) return null;
  const family = bytes[offset];
  const size = family === 4 ? 4 : family === 6 ? 16 : -1;
  if (size < 0 || offset + 1 + size + 2 > end) return null;
  const ip = bytes.subarray(offset + 1, offset + 1 + size);
  const port = bytes[offset + 1 + size] | (bytes[offset + 2 + size] << 8);
  if (port === 0) return null;
  const text = formatIpAddress(ip);
  const host = family === 4 ? text : `[${text}]`;
  return { address: `${host}:${port}`, next: offset + 3 + size };
}

/** Formats a resolved IP and port as an engine address. */
export function formatAddress(ip: string, port: number): Address {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}
