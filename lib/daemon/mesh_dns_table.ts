/**
 * The resolver's table from the peer table: every name held here with its addresses. A member's
 * IPv4 is given only while it holds that address on this node (the IPv4 claims), so DNS never
 * points a name at a key whose packets would go to another; IPv6 is always its own. Rebuilt only
 * when names or IPv4 holders changed (`MeshPeers.namesVersion`), at most once per query.
 */

import { encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv4Bytes, meshIpv6Bytes } from "../identity/mesh_address.ts";
import { type DnsHost, DnsTable } from "../dns/dns_table.ts";
import type { MeshPeers } from "./mesh_peers.ts";

/** Caches the DNS table of one node's peer table. */
export class MeshDnsTable {
  readonly #peers: MeshPeers;
  readonly #selfId: string;
  #version = "";
  #table = new DnsTable([]);

  /** The table of `peers` on the node whose key is `self`. */
  constructor(peers: MeshPeers, self: Uint8Array) {
    this.#peers = peers;
    this.#selfId = encodeHex(self);
  }

  /** The current table (rebuilt when the names or IPv4 holders changed since the last call). */
  table(): DnsTable {
    const version = this.#peers.namesVersion;
    if (version !== this.#version) {
      this.#table = new DnsTable(this.#hosts());
      this.#version = version;
    }
    return this.#table;
  }

  *#hosts(): Generator<DnsHost> {
    for (const { name, publicKey } of this.#peers.names.holders()) {
      const id = encodeHex(publicKey);
      const ownsIpv4 = id === this.#selfId || this.#peers.ipv4Holder(meshIpv4(publicKey)) === id;
      yield {
        name,
        ipv4: ownsIpv4 ? meshIpv4Bytes(publicKey) : null,
        ipv6: meshIpv6Bytes(publicKey),
      };
    }
  }
}
