/** `meshguard netcheck` as text: the mapping of the mesh port, then one row per STUN server. */

import type { NetcheckReport } from "./control_protocol.ts";

/** The report as text, in the spirit of `tailscale netcheck`. */
export function formatNetcheck(report: NetcheckReport): string {
  const lines = [
    `mesh port:     ${report.port}`,
    `stun:          ${stunSource(report.stun)}`,
    `mapped ipv4:   ${report.mapped_v4 ?? "-"}`,
    `mapped ipv6:   ${report.mapped_v6 ?? "-"}`,
    `mapping:       ${report.mapping} (ipv4 ${report.mapping_v4}, ipv6 ${report.mapping_v6})`,
    "",
    report.direct,
  ];
  if (report.servers.length > 0) {
    const rows = [
      ["SERVER", "MAPPED", "RTT"],
      ...report.servers.map((server) => [
        server.server,
        server.mapped ?? server.error ?? "-",
        server.rtt_ms === null ? "-" : `${server.rtt_ms} ms`,
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    lines.push("");
    for (const row of rows) {
      lines.push(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
    }
  } else if (report.stun !== "off") {
    lines.push(
      "",
      report.stun === "members"
        ? "No member to ask yet: STUN asks up to two trusted members with public addresses."
        : "No --stun server resolved.",
    );
  }
  return lines.join("\n") + "\n";
}

function stunSource(kind: NetcheckReport["stun"]): string {
  switch (kind) {
    case "members":
      return "members (default)";
    case "servers":
      return "--stun servers";
    case "off":
      return "off (--stun none)";
  }
}
