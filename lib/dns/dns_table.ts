/**
 * What the mesh resolver knows, frozen for lookups: each held name's addresses (an IPv4 only
 * when that key holds its mesh IPv4 here) and the reverse names of those addresses. Built from
 * the name table by the daemon whenever that changed; the responder only reads it.
 */

import { isDnsLabel } from "../trust/dns_label.ts";

/** One name and its addresses. */
export interface DnsHost {
  /** Fully qualified, lowercase, without the trailing dot. */
  name: string;
  /** 4 bytes, or null when another key holds this member's mesh IPv4 here. */
  ipv4: Uint8Array | null;
  /** 16 bytes. */
  ipv6: Uint8Array;
}

/** The reverse zone of the mesh IPv4 range 10.99.0.0/16. */
export const MESH_IPV4_REVERSE_ZONE = "99.10.in-addr.arpa";
/** The reverse zone of the mesh IPv6 range fd99:6d67::/64 (16 nibbles). */
export const MESH_IPV6_REVERSE_ZONE = "0.0.0.0.0.0.0.0.7.6.d.6.9.9.d.f.ip6.arpa";

/** The PTR name of a 4- or 16-byte address (`d.c.b.a.in-addr.arpa`, nibbles for IPv6). */
export function reverseName(address: Uint8Array): string {
  if (address.length === 4) return `${[...address].reverse().join(".")}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = address.length - 1; i >= 0; i--) {
    nibbles.push((address[i] & 0xf).toString(16), (address[i] >> 4).toString(16));
  }
  return `${nibbles.join(".")}.ip6.arpa`;
}

/** True when `name` is under the mesh zone or one of the mesh reverse zones. */
export function isMeshZoneName(name: string): boolean {
  return name === "mesh" || name.endsWith(".mesh") || name === MESH_IPV4_REVERSE_ZONE ||
    name.endsWith(`.${MESH_IPV4_REVERSE_ZONE}`) || name === MESH_IPV6_REVERSE_ZONE ||
    name.endsWith(`.${MESH_IPV6_REVERSE_ZONE}`);
}

/** The lookup tables the responder answers from. */
export class DnsTable {
  readonly #forward = new Map<string, DnsHost>();
  readonly #reverse = new Map<string, string>();
  /** Names that exist without addresses of their own (zone apexes, org domains). */
  readonly #empty = new Set<string>(["mesh"]);

  /** A table of `hosts`; a host whose name is not all DNS labels is left out. */
  constructor(hosts: Iterable<DnsHost>) {
    for (const host of hosts) {
      const labels = host.name.split(".");
      if (!labels.every(isDnsLabel) || this.#forward.has(host.name)) continue;
      this.#forward.set(host.name, host);
      // Every ancestor up to "mesh" exists (answers NODATA, not NXDOMAIN: RFC 8020).
      for (let i = 1; i < labels.length - 1; i++) this.#empty.add(labels.slice(i).join("."));
      if (host.ipv4 !== null) this.#reverse.set(reverseName(host.ipv4), host.name);
      this.#reverse.set(reverseName(host.ipv6), host.name);
    }
  }

  /** The host named `name` (lowercase, no trailing dot), if any. */
  host(name: string): DnsHost | undefined {
    return this.#forward.get(name);
  }

  /** True when `name` exists (a host, or a zone or org domain above one). */
  exists(name: string): boolean {
    return this.#forward.has(name) || this.#empty.has(name);
  }

  /** The name a reverse name points to, if any. */
  pointer(reverse: string): string | undefined {
    return this.#reverse.get(reverse);
  }

  /** How many hosts it holds. */
  get size(): number {
    return this.#forward.size;
  }
}
