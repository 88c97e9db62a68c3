/**
 * The nftables rule sets of the NAT lab's routers, as `nft -f` text. One table per concern, so a
 * knob is added and removed by loading or deleting its own table:
 *   - `natlab`: the NAT itself (the reference's "easy" recipe: endpoint-independent mapping by a
 *     port-preserving masquerade, address-and-port-dependent filtering by conntrack), or with
 *     `fully-random` a mapping that depends on the destination ("symmetric"). Everything the
 *     router drops for want of a mapping is counted in the named counter `unsolicited`.
 *   - `natlab_loss`: drops a random share of the forwarded packets (no sch_netem here).
 *   - `natlab_block`: drops forwarded packets to and from given internet addresses.
 */

/** The table holding a router's NAT. */
export const NAT_TABLE = "natlab";
/** The table holding a router's loss knob. */
export const LOSS_TABLE = "natlab_loss";
/** The table holding a router's blocked addresses. */
export const BLOCK_TABLE = "natlab_block";

/** How a router maps: port-preserving and endpoint-independent, or random per destination. */
export type Mapping = "cone" | "symmetric";

/**
 * A NAT from `lan` to `wan`. The input chain keeps its drop policy: a probe arriving before the
 * first outbound packet must not leave a conntrack entry that makes masquerade pick another port.
 */
export function natRules(mapping: Mapping, lan: string, wan: string): string {
  return `table inet ${NAT_TABLE} {
  counter unsolicited {}
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    counter name unsolicited drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "${lan}" accept
    ct state established,related accept
    iifname "${wan}" ct status dnat accept
    counter name unsolicited drop
  }
  chain pre { type nat hook prerouting priority dstnat; }
  chain post {
    type nat hook postrouting priority srcnat;
    ${masquerade(mapping, wan)}
  }
}
`;
}

function masquerade(mapping: Mapping, wan: string): string {
  return `oifname "${wan}" masquerade${mapping === "symmetric" ? " fully-random" : ""}`;
}

/**
 * Commands that move every new UDP mapping of a cone router into 40000–40999 (so, after its
 * conntrack table is flushed, a host's next datagram gets another external port: a rebinding).
 */
export function portChangeCommands(wan: string): string {
  return `flush chain inet ${NAT_TABLE} post
add rule inet ${NAT_TABLE} post oifname "${wan}" meta l4proto udp masquerade to :40000-40999
add rule inet ${NAT_TABLE} post oifname "${wan}" masquerade
`;
}

/**
 * Commands that forward UDP `port` on the router's WAN to `host` at the same port (a port
 * forward, as a user sets up for `--announce`): that port is reachable unsolicited.
 */
export function portForwardCommands(wan: string, port: number, host: string): string {
  return `add rule inet ${NAT_TABLE} pre iifname "${wan}" udp dport ${port} dnat ip to ${host}
`;
}

/** Drops `percent` % of the packets the router forwards, in both directions (nft's numgen modulus stops at 99). */
export function lossRules(percent: number): string {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new Error(`loss must be a whole percentage 0..100, got ${percent}`);
  }
  return `table inet ${LOSS_TABLE} {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ${percent === 100 ? "" : `numgen random mod 100 < ${percent} `}counter drop
  }
}
`;
}

/** Drops every forwarded packet to or from one of `addresses` (e.g. another router's WAN). */
export function blockRules(addresses: string[]): string {
  const set = `{ ${addresses.join(", ")} }`;
  return `table inet ${BLOCK_TABLE} {
  chain forward {
    type filter hook forward priority filter - 20; policy accept;
    ip daddr ${set} counter drop
    ip saddr ${set} counter drop
  }
}
`;
}
