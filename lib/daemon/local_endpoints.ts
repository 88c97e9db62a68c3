/**
 * The endpoints this node advertises in its signed membership record: its interface addresses
 * with the mesh port, leaving out loopback, link-local, the mesh ranges and the mesh interface
 * itself (tunnelling membership through the mesh would hide a broken underlay).
 */

import { MAX_ENDPOINTS } from "../swim/constants.ts";

/** One interface address as `Deno.networkInterfaces()` reports it. */
export interface InterfaceAddress {
  name: string;
  family: "IPv4" | "IPv6";
  address: string;
}

/** Picks the advertised `ip:port` endpoints (IPv4 first, at most MAX_ENDPOINTS). */
export function advertisedEndpoints(
  interfaces: InterfaceAddress[],
  port: number,
  meshInterface: string,
): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const entry of interfaces) {
    if (entry.name === meshInterface) continue;
    const address = entry.address.toLowerCase();
    if (entry.family === "IPv4") {
      if (address.startsWith("127.") || address.startsWith("169.254.")) continue;
      if (address.startsWith("10.99.")) continue;
      v4.push(`${address}:${port}`);
    } else {
      if (address === "::1" || /^fe[89ab]/.test(address) || address.startsWith("fd99:6d67:")) {
        continue;
      }
      if (address.includes("%")) continue;
      v6.push(`[${address}]:${port}`);
    }
  }
  return [...new Set([...v4, ...v6])].slice(0, MAX_ENDPOINTS);
}
