/** UDP endpoints (address + port) as the engine sees them, with the byte form cookies use. */

import { formatIpv6 } from "../identity/mesh_address.ts";

/** A UDP endpoint: an IPv4 or IPv6 address (16 bytes when IPv6, 4 when IPv4) and a port. */
export interface Endpoint {
  /** Raw address bytes: 4 for IPv4, 16 for IPv6. */
  address: Uint8Array;
  port: number;
}

/** Thrown when text is not an IP address or host:port. */
export class EndpointParseError extends Error {}

/** Parses a dotted-quad IPv4 address; null if it is not one. */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return null;
    const value = Number(parts[i]);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses an IPv6 address (with `::`, and an embedded IPv4 tail); null if it is not one. */
export function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (!v4) return null;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

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
  return address.length === 4 ? address.join(".") : formatIpv6(address);
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
