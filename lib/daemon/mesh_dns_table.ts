/**
 * The resolver's table from the peer table: every name held here with its addresses. A member's
 * IPv4 is given only while it holds that address on this node (the IPv4 claims), so DNS never
 * points a name at a key whose packets would go to another; IPv6 is always its own. Rebuilt when
 * names or IPv4 holders changed (`MeshPeers.namesVersion`), on a query, and at most once per
 * REBUILD_GAP_MS: a join burst in a large `--open` mesh with queries flowing would otherwise pay
 * a whole rebuild (20–40 ms at 5,000 names) per query on the membership thread.
 */

import { encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv4Bytes, meshIpv6Bytes } from "../identity/mesh_address.ts";
import { type DnsHost, DnsTable } from "../dns/dns_table.ts";
import type { MeshPeers } from "./mesh_peers.ts";

/** The longest a changed table is served stale (ms): names settle within a second. */
export const REBUILD_GAP_MS = 1_000;

interface Addresses {
  ipv4: string;
  ipv4Bytes: Uint8Array;
  ipv6Bytes: Uint8Array;
}

/** Caches the DNS table of one node's peer table. */
export class MeshDnsTable {
  readonly #peers: MeshPeers;
  readonly #selfId: string;
  #version = "";
  #builtAt = -Infinity;
  #table = new DnsTable([]);
  /** Key id → derived addresses (three hashes each), kept for the ids of the last build. */
  #addresses = new Map<string, Addresses>();

  /** The table of `peers` on the node whose key is `self`. */
  constructor(peers: MeshPeers, self: Uint8Array) {
    this.#peers = peers;
    this.#selfId = encodeHex(self);
  }

  /** The table at `now` (ms): rebuilt when names or IPv4 holders changed, at most once a gap. */
  table(now: number): DnsTable {
    const version = this.#peers.namesVersion;
    if (version !== this.#version && now - this.#builtAt >= REBUILD_GAP_MS) {
      this.#table = new DnsTable(this.#hosts());
      this.#version = version;
      this.#builtAt = now;
    }
    return this.#table;
  }

  #hosts(): DnsHost[] {
    const hosts: DnsHost[] = [];
    const addresses = new Map<string, Addresses>();
    for (const { name, publicKey } of this.#peers.names.holders()) {
      const id = encodeHex(publicKey);
      const known = this.#addresses.get(id) ?? {
        ipv4: meshIpv4(publicKey),
        ipv4Bytes: meshIpv4Bytes(publicKey),
        ipv6Bytes: meshIpv6Bytes(publicKey),
      };
      addresses.set(id, known);
      const ownsIpv4 = id === this.#selfId || this.#peers.ipv4Holder(known.ipv4) === id;
      hosts.push({ name, ipv4: ownsIpv4 ? known.ipv4Bytes : null, ipv6: known.ipv6Bytes });
    }
    this.#addresses = addresses;
    return hosts;
  }
}
