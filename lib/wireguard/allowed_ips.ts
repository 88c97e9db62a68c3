/**
 * Cryptokey routing (paper §2): which peer owns which inner addresses, as longest-prefix-match
 * tables for IPv4 and IPv6. Used outbound (which peer gets this packet) and inbound (may this
 * peer send from this source address; design invariant 5).
 */

import { formatAddress } from "./endpoint.ts";

interface TrieNode<T> {
  zero?: TrieNode<T>;
  one?: TrieNode<T>;
  value?: T;
}

/** One allowed-IPs entry: a network (host bits zero) and its prefix length. */
export interface AllowedIp {
  address: Uint8Array;
  cidr: number;
}

/** Thrown for an address/prefix pair that cannot be an allowed IP. */
export class AllowedIpError extends Error {}

function bitAt(address: Uint8Array, index: number): number {
  return (address[index >> 3] >> (7 - (index & 7))) & 1;
}

/** Clears the host bits of `address` beyond `cidr`. */
export function maskAddress(address: Uint8Array, cidr: number): Uint8Array {
  const out = address.slice();
  for (let bit = cidr; bit < out.length * 8; bit++) out[bit >> 3] &= ~(1 << (7 - (bit & 7)));
  return out;
}

/** Formats an entry as `10.99.0.0/16` or `fd99:6d67::/64`. */
export function formatAllowedIp(entry: AllowedIp): string {
  return `${formatAddress(entry.address)}/${entry.cidr}`;
}

/** Longest-prefix-match tables, IPv4 and IPv6, from prefixes to owners of type T. */
export class AllowedIps<T> {
  private readonly v4: TrieNode<T> = {};
  private readonly v6: TrieNode<T> = {};

  private root(address: Uint8Array): TrieNode<T> {
    if (address.length === 4) return this.v4;
    if (address.length === 16) return this.v6;
    throw new AllowedIpError(`an address is 4 or 16 bytes, not ${address.length}`);
  }

  /** Routes `address/cidr` to `owner`, replacing any previous owner of that exact prefix. */
  insert(address: Uint8Array, cidr: number, owner: T): void {
    const bits = address.length * 8;
    if (!Number.isInteger(cidr) || cidr < 0 || cidr > bits) {
      throw new AllowedIpError(`prefix length ${cidr} is out of range 0-${bits}`);
    }
    let node = this.root(address);
    const network = maskAddress(address, cidr);
    for (let i = 0; i < cidr; i++) {
      const key = bitAt(network, i) === 0 ? "zero" : "one";
      node = node[key] ??= {};
    }
    node.value = owner;
  }

  /** The owner of the longest prefix containing `address`, if any. */
  lookup(address: Uint8Array): T | undefined {
    return this.lookupIn(address, 0, address.length);
  }

  /**
   * The owner of the longest prefix containing the `length`-byte address (4 or 16) at
   * `offset` in `bytes`: the data path looks addresses up where the packet lies.
   */
  lookupIn(bytes: Uint8Array, offset: number, length: number): T | undefined {
    let node: TrieNode<T> | undefined = length === 4
      ? this.v4
      : length === 16
      ? this.v6
      : undefined;
    if (!node) throw new AllowedIpError(`an address is 4 or 16 bytes, not ${length}`);
    let best: T | undefined = node.value;
    const bits = length * 8;
    for (let i = 0; node && i < bits; i++) {
      const bit = (bytes[offset + (i >> 3)] >> (7 - (i & 7))) & 1;
      node = bit === 0 ? node.zero : node.one;
      if (node?.value !== undefined) best = node.value;
    }
    return best;
  }

  /** Removes every prefix owned by `owner`. */
  removeOwner(owner: T): void {
    const prune = (node: TrieNode<T>): boolean => {
      if (node.value === owner) delete node.value;
      if (node.zero && prune(node.zero)) delete node.zero;
      if (node.one && prune(node.one)) delete node.one;
      return node.value === undefined && !node.zero && !node.one;
    };
    prune(this.v4);
    prune(this.v6);
  }

  /** Every prefix owned by `owner` (IPv4 first, then IPv6, each in address order). */
  entriesOf(owner: T): AllowedIp[] {
    const out: AllowedIp[] = [];
    const walk = (node: TrieNode<T>, bits: number[], length: number) => {
      if (node.value === owner) {
        const address = new Uint8Array(length / 8);
        bits.forEach((bit, i) => {
          if (bit) address[i >> 3] |= 1 << (7 - (i & 7));
        });
        out.push({ address, cidr: bits.length });
      }
      if (node.zero) walk(node.zero, [...bits, 0], length);
      if (node.one) walk(node.one, [...bits, 1], length);
    };
    walk(this.v4, [], 32);
    walk(this.v6, [], 128);
    return out;
  }
}
