/**
 * The `meshguard status --json` document, checked field by field with the control protocol's own
 * validator (so a daemon that drifts from the documented shape fails the suite), and `wg show
 * dump` peer lines.
 */

import {
  checkDaemonStatus,
  type DaemonStatus,
  type PeerStatus,
} from "../../../lib/control/control_protocol.ts";

export type { DaemonStatus, PeerStatus };

/**
 * Parses `status --json` output. Accepts the bare document or the control protocol's
 * `{"ok":true,"status":{…}}` envelope; throws with the text when neither shape fits.
 */
export function parseStatus(text: string): DaemonStatus {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`status --json printed something that is not JSON:\n${text}`);
  }
  const record = parsed as Record<string, unknown>;
  const document = (record && typeof record === "object" && "status" in record &&
      typeof record.status === "object")
    ? record.status as Record<string, unknown>
    : record;
  if (!document || typeof document !== "object" || !Array.isArray(document.peers)) {
    throw new Error(`status --json has no peers array:\n${text}`);
  }
  return checkDaemonStatus(document);
}

/** One peer line of `wg show <if> dump`. */
export interface WireGuardPeer {
  publicKey: string;
  /** Base64, or "(none)". */
  presharedKey: string;
  endpoint: string | null;
  allowedIps: string[];
  /** Seconds since the epoch; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
}

/** Parses `wg show <if> dump`: the first line is the interface, each further line a peer. */
export function parseWireGuardDump(text: string): WireGuardPeer[] {
  const lines = text.trim().split("\n").slice(1).filter((line) => line.trim() !== "");
  return lines.map((line) => {
    // public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive
    const fields = line.split("\t");
    if (fields.length < 8) throw new Error(`unexpected wg dump line: ${JSON.stringify(line)}`);
    return {
      publicKey: fields[0],
      presharedKey: fields[1],
      endpoint: fields[2] === "(none)" ? null : fields[2],
      allowedIps: fields[3] === "(none)" ? [] : fields[3].split(","),
      latestHandshake: Number(fields[4]),
      rxBytes: Number(fields[5]),
      txBytes: Number(fields[6]),
    };
  });
}
