/** UDP endpoints (address + port) as the engine sees them, with the byte form cookies use. */

import { formatIpAddress, parseIpv4, parseIpv6 } from "../net/ip_address.ts";

/** A UDP endpoint: an IPv4 or IPv6 address (16 bytes when IPv6, 4 when IPv4) and a port. */
export interface Endpoint {
  /** Raw address bytes: 4 for IPv4, 16 for IPv6. */
  address: Uint8Array;
  port: number;
}

/** Thrown when text is not an IP address or host:port. */
export class EndpointParseError extends Error {}

/** Parses `1.2.3.4:51820` or `[fd00::1]:51820`. */
export function parseEndpoint(text: string): Endpoint {
  const match = text.match(/^\[([^\]]+)\]:(\d{1,5})$/) ?? text.match(/^([^:]+):(\d{1,5})$/);
  const port = match ? Number(match[2]) : NaN;
  const address = match ? (parseIpv4(match[1]) ?? parseIpv6(match[1])) : null;
  if (!match || !address || !(port >= 1 && port <= 65535)) {
    throw new EndpointParseError(
      `'${text}' is not an endpoint: use IPv4:port or [IPv6]:port with a port of 1-65535`,
    );
  }
  return { address, port };
}

/** Formats an address as text (dotted quad or RFC 5952). */
export function formatAddress(address: Uint8Array): string {
  return formatIpAddress(address);
}

/** Formats an endpoint as `1.2.3.4:51820` or `[fd00::1]:51820`. */
export function formatEndpoint(endpoint: Endpoint): string {
  const address = formatAddress(endpoint.address);
  return endpoint.address.length === 4
    ? `${address}:${endpoint.port}`
    : `[${address}]:${endpoint.port}`;
}

/** Address bytes followed by the big-endian port: what a cookie is a MAC of. */
export function endpointBytes(endpoint: Endpoint): Uint8Array {
  const out = new Uint8Array(endpoint.address.length + 2);
  out.set(endpoint.address);
  out[out.length - 2] = endpoint.port >> 8;
  out[out.length - 1] = endpoint.port & 0xff;
  return out;
}

/** True when both endpoints have the same address and port. */
export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port || a.address.length !== b.address.length) return false;
  for (let i = 0; i < a.address.length; i++) if (a.address[i] !== b.address[i]) return false;
  return true;
}
