/**
 * The words for a contested mesh IPv4, shared by the daemon's log, `status`, `trust` and
 * `config show`, so every place states the same outcome and the same way to change it.
 */

import type { Ipv4Conflict } from "./control_protocol.ts";

/** The command that gives a contested address to another key. */
export const IPV4_OWNER_COMMAND = "meshguard trust <key> --ipv4-owner";

/** The warning for a contested address: who holds it, who is IPv6-only, how to change it. */
export function describeConflict(conflict: Ipv4Conflict): string {
  const others = conflict.ipv6_only.map((key) => key.name).join(", ");
  const address = conflict.mesh_ipv4;
  const change = `; to give it to another key run '${IPV4_OWNER_COMMAND}'`;
  switch (conflict.reason) {
    case "own-address":
      return `mesh IPv4 ${address} is this node's own address; ${others} reachable here over ` +
        `IPv6 only`;
    case "undecided":
      return `mesh IPv4 ${address} is derived by ${others}, trusted together: nobody gets it ` +
        `until you pick one with '${IPV4_OWNER_COMMAND}'; all reachable over IPv6`;
    case "holder-absent":
      return `mesh IPv4 ${address} stays with ${conflict.holder?.name} (recorded holder, not a ` +
        `member now); ${others} reachable over IPv6 only${change}`;
    default:
      return `mesh IPv4 ${address} stays with ${conflict.holder?.name} (${
        conflict.reason === "pinned" ? "pinned by an administrator" : "first trusted or seen here"
      }); ${others} reachable over IPv6 only${change}`;
  }
}
