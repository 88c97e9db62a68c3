/** `meshguard config show`: the identity, its addresses and the trust store, offline. */

import { buildConfigReport, type ConfigReport } from "./config_report.ts";
import { UsageError } from "../errors.ts";
import type { CommandContext } from "./command_context.ts";
import { IPV4_OWNER_COMMAND } from "../control/ipv4_conflict_text.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) => "  " + row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n") + "\n";
}

/** Renders a report as the human-readable text of `config show`. */
export function renderConfigReport(report: ConfigReport): string {
  let text = `Config dir: ${report.config_dir}${
    report.config_dir_exists ? "" : " (does not exist yet)"
  }\n\nIdentity\n`;
  if (report.identity) {
    text += table([
      ["public key:", report.identity.public_key],
      ["WireGuard key:", report.identity.wireguard_public_key],
      ["mesh IPv4:", report.identity.mesh_ipv4],
      ["mesh IPv6:", report.identity.mesh_ipv6],
    ]);
  } else if (report.identity_error) {
    text += `  unusable: ${report.identity_error}\n`;
  } else {
    text += "  none (run 'meshguard keygen')\n";
  }
  text += `\nTrusted peers (${report.trusted_peers.length})\n`;
  if (report.trusted_peers.length > 0) {
    text += table([
      ["NAME", "KEY", "MESH IPv4", "MESH IPv6"],
      ...report.trusted_peers.map((peer) => [
        peer.name,
        `${peer.fingerprint}…`,
        peer.mesh_ipv4,
        peer.mesh_ipv6,
      ]),
    ]);
  }
  if (report.mesh_ipv4_collisions.length > 0) {
    text += `\nMesh IPv4 shared by several keys (${report.mesh_ipv4_collisions.length})\n`;
    text += table([
      ["MESH IPv4", "HELD BY", "WHY", "IPv6 ONLY"],
      ...report.mesh_ipv4_collisions.map((collision) => [
        collision.mesh_ipv4,
        collision.holder ?? (collision.includes_self ? "this node" : "nobody"),
        collision.reason,
        collision.ipv6_only.join(", "),
      ]),
    ]);
    text += `  change with: ${IPV4_OWNER_COMMAND}\n`;
  }
  text += `\nTrusted orgs (${report.trusted_orgs.length})\n`;
  if (report.trusted_orgs.length > 0) {
    text += table([
      ["NAME", "KEY", "DOMAIN"],
      ...report.trusted_orgs.map((org) => [org.name, `${org.fingerprint}…`, `${org.domain}.mesh`]),
    ]);
  }
  const member = report.org_membership;
  if (member !== null) {
    text += `\nOrg membership (node.cert)\n  ${member.fqdn}, v${member.version}${
      member.delegated ? " delegated" : ""
    }, expires ${member.expires_at}: ${
      member.problem === null ? "valid" : `not valid here (${member.problem})`
    }\n`;
  }
  const decisions = report.org_decisions;
  if (decisions.revoked + decisions.vouched > 0) {
    text += `\nOrg decisions: ${decisions.revoked} revoked, ${decisions.vouched} vouched\n`;
  }
  return text;
}

/** Runs `config show [--json]`. Exits 1 when the identity exists but cannot be used. */
export async function configCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("config", args, {
    json: { type: "boolean" },
  });
  if (positionals.length !== 1 || positionals[0] !== "show") {
    throw new UsageError(
      positionals.length === 0
        ? "config needs a subcommand: show"
        : `unknown config subcommand '${positionals.join(" ")}' (known: show)`,
      "config",
    );
  }
  const report = await buildConfigReport(context.configDir());
  if (values.json) {
    context.io.stdout(JSON.stringify(report, null, 2) + "\n");
  } else {
    context.io.stdout(renderConfigReport(report));
    for (const warning of report.warnings) context.io.stderr(`warning: ${warning}\n`);
  }
  if (report.identity_error) {
    context.io.stderr(`error: ${report.identity_error}\n`);
    return 1;
  }
  return 0;
}
