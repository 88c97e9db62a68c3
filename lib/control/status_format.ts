/**
 * `meshguard status` as text, in the spirit of `wg show` and `tailscale status`: a header block
 * about this node, then one aligned row per peer. `now` is a parameter so output is testable.
 */

import type {
  ControllerStatus,
  DaemonStatus,
  PeerStatus,
  RelayServingStatus,
} from "./control_protocol.ts";
import { describeConflict } from "./ipv4_conflict_text.ts";

const BYTE_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** A byte count in binary units: `512 B`, `1.5 KiB`, `23.4 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  // Round first so 1023.96 KiB prints as 1.0 MiB, not 1024.0 KiB.
  while (Math.round(value * 10) / 10 >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** How long ago `isoTime` was, coarsely: `12s ago`, `3m ago`, `5h ago`, `2d ago`, or `never`. */
export function formatHandshakeAge(isoTime: string | null, now: Date | number): string {
  if (isoTime === null) return "never";
  const then = Date.parse(isoTime);
  if (Number.isNaN(then)) return "unknown";
  // A clock step can put the handshake slightly in the future; show that as just now.
  const seconds = Math.max(0, Math.floor((Number(now) - then) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** Lays out rows as columns two spaces apart, without trailing spaces. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd() + "\n")
    .join("");
}

function peerRow(peer: PeerStatus, now: Date | number, names: boolean): string[] {
  return [
    peer.name,
    ...(names ? [peer.dns_name ?? "-"] : []),
    peer.mesh_ipv4 ?? peer.mesh_ipv6,
    peer.endpoint ?? "-",
    peer.state,
    formatHandshakeAge(peer.last_handshake, now),
    formatBytes(peer.rx_bytes),
    formatBytes(peer.tx_bytes),
    peer.connection === "relay" ? `relay via ${peer.relay}` : peer.connection,
  ];
}

/** The status as text: this node's block, a blank line, then the peer table (or a note). */
export function formatStatus(status: DaemonStatus, now: Date | number): string {
  const { alive, suspect, dead } = status.members;
  const header = table([
    ["interface:", status.interface],
    ["listening port:", String(status.port)],
    ["public key:", status.public_key],
    ["wireguard key:", status.wireguard_public_key],
    ["mesh ipv4:", status.mesh_ipv4],
    ["mesh ipv6:", status.mesh_ipv6],
    ...(typeof status.dns_name === "string" ? [["mesh name:", status.dns_name]] : []),
    ["admission:", admission(status)],
    ["members:", `${alive} alive, ${suspect} suspect, ${dead} dead`],
    ["nat:", natLine(status)],
    ...(status.policy === undefined ? [] : [["services:", policyLine(status.policy)]]),
    ...(status.controller === undefined ? [] : controllerLines(status.controller, now)),
    ["daemon:", `meshguard ${status.version}, pid ${status.pid}`],
  ]);
  const conflicts = status.ipv4_conflicts.length === 0
    ? ""
    : `\nmesh IPv4 conflicts (${status.ipv4_conflicts.length}):\n${
      status.ipv4_conflicts.map((conflict) => `  ${describeConflict(conflict)}\n`).join("")
    }`;
  const nameConflicts = (status.name_conflicts ?? []).length === 0
    ? ""
    : `\nmesh name conflicts (${status.name_conflicts!.length}):\n${
      status.name_conflicts!.map((line) => `  ${line}\n`).join("")
    }`;
  const relaying = relayingBlock(status);
  if (status.peers.length === 0) {
    return `${header}\nno peers yet\n${conflicts}${nameConflicts}${relaying}`;
  }
  // Byte order, not the locale's: the same status prints the same everywhere.
  const peers = [...status.peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Daemons that know names send dns_name; older ones get the old columns.
  const names = peers.some((peer) => "dns_name" in peer);
  const rows = [
    ["NAME", ...(names ? ["DNS NAME"] : []), "MESH IP", "ENDPOINT", "STATE", "HANDSHAKE", "RX"]
      .concat(["TX", "PATH"]),
    ...peers.map((peer) => peerRow(peer, now, names)),
  ];
  return `${header}\n${table(rows)}${conflicts}${nameConflicts}${relaying}`;
}

function policyLine(policy: NonNullable<DaemonStatus["policy"]>): string {
  const dropped = policy.drops.reduce((sum, drop) => sum + drop.drops, 0);
  const rules = policy.files === 0
    ? "no policy files (every port open)"
    : `default ${policy.default}, ${policy.rules} rule${
      policy.rules === 1 ? "" : "s"
    }, ${dropped} packet${dropped === 1 ? "" : "s"} dropped`;
  return policy.error === null ? rules : `${rules}; last edit refused: ${policy.error}`;
}

/** On a relay node: what it forwarded, its drops by reason, and one row per pair it serves. */
function relayingBlock(status: DaemonStatus): string {
  const serving = status.relay_serving;
  if (serving === undefined) return "";
  const drops = Object.entries(serving.dropped).filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`).join(", ");
  const head = `\nrelaying for others: ${serving.forwarded_packets} datagrams (${
    formatBytes(serving.forwarded_bytes)
  }) forwarded, dropped: ${drops === "" ? "none" : drops}\n${relayHeldLine(serving)}${
    relayLimitsLine(serving)
  }`;
  if (serving.pairs.length === 0) return `${head}  no active pairs\n`;
  const rows = [
    ["FROM", "TO", "DATAGRAMS", "BYTES"],
    ...serving.pairs.map((p) => [p.from, p.to, String(p.packets), formatBytes(p.bytes)]),
  ];
  return head + table(rows).split("\n").map((line) => line === "" ? "" : `  ${line}`).join("\n");
}

/** Initiations that waited for a proven address (absent from older daemons, or when none did). */
function relayHeldLine(serving: RelayServingStatus): string {
  const h = serving.held;
  if (h === undefined || !h.held) return "";
  return `  handshakes held until an address was proven: ${h.held} (${h.released ?? 0} forwarded, ${
    h.expired ?? 0
  } expired)\n`;
}

/** The relay's budgets in force, per sender and per data thread (absent from older daemons). */
function relayLimitsLine(serving: RelayServingStatus): string {
  const l = serving.limits;
  if (l === undefined) return "";
  const mbit = (l.bytes_per_second * 8 / 1e6).toLocaleString("en-US", {
    maximumFractionDigits: 1,
  });
  return `  limits per sender per data thread: ${mbit} Mbit/s (${
    formatBytes(l.bytes_per_second)
  }/s), ${l.packets_per_second} datagrams/s; at most ${l.max_pairs} pairs per data thread\n`;
}

/** The `controller:` lines: where, the last poll, the epoch, who is kept off the device. */
function controllerLines(controller: ControllerStatus, now: Date | number): string[][] {
  const poll = controller.last_poll === null
    ? "no answer yet"
    : `last poll ${formatHandshakeAge(controller.last_poll, now)}`;
  const reach = controller.reachable ? "" : `, unreachable (${controller.last_error ?? "?"})`;
  const epoch = controller.epoch === null ? "no epoch" : `epoch ${controller.epoch}`;
  const lines = [
    ["controller:", `${controller.url} as ${controller.node_id}, ${poll}${reach}`],
    [
      "",
      `${epoch}, ${controller.admitted} peer(s) admitted${
        controller.fail_open ? ", fail-open" : ""
      }`,
    ],
  ];
  if (controller.denied !== null) lines.push(["", `this node denied: ${controller.denied}`]);
  if (controller.gated.length > 0) {
    lines.push(["", `held off the device: ${controller.gated.join(", ")}`]);
  }
  return lines;
}

function natLine(status: DaemonStatus): string {
  const { mapped_v4, mapped_v6, mapping } = status.nat;
  const mapped = [mapped_v4, mapped_v6].filter((address) => address !== null).join(", ");
  return mapped === "" ? mapping : `${mapping}, mapped ${mapped}`;
}

function admission(status: DaemonStatus): string {
  const orgs = status.trusted_orgs ?? 0;
  if (!status.open) {
    return orgs === 0
      ? "authorized keys only"
      : `authorized keys and ${orgs} trusted org${orgs === 1 ? "" : "s"} (certificates, vouches)`;
  }
  const cap = status.max_members === null ? "" : `, at most ${status.max_members} members`;
  const refused = status.refused_members === 0 ? "" : `, ${status.refused_members} refused`;
  return `open (any key${cap}${refused})`;
}
