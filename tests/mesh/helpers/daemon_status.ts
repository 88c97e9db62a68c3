/**
 * The `meshguard status --json` document as the daemon contract defines it, and `wg show dump`
 * peer lines. Declared here rather than imported from lib/ so the suite checks the contract,
 * not whatever the implementation happens to emit.
 */

/** A member's liveness as the daemon reports it. */
export type PeerState = "alive" | "suspect" | "dead" | "left";

/** One peer in `status --json`. */
export interface PeerStatus {
  name: string;
  public_key: string;
  wireguard_public_key: string;
  mesh_ipv4: string | null;
  mesh_ipv6: string;
  state: PeerState;
  endpoint: string | null;
  last_handshake: string | null;
  rx_bytes: number;
  tx_bytes: number;
  connection: string;
}

/** The whole `status --json` document. */
export interface DaemonStatus {
  version: string;
  pid: number;
  interface: string;
  port: number;
  public_key: string;
  wireguard_public_key: string;
  mesh_ipv4: string | null;
  mesh_ipv6: string;
  open: boolean;
  members: { alive: number; suspect: number; dead: number };
  peers: PeerStatus[];
}

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
  return document as unknown as DaemonStatus;
}

/** One peer line of `wg show <if> dump`. */
export interface WireGuardPeer {
  publicKey: string;
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
      endpoint: fields[2] === "(none)" ? null : fields[2],
      allowedIps: fields[3] === "(none)" ? [] : fields[3].split(","),
      latestHandshake: Number(fields[4]),
      rxBytes: Number(fields[5]),
      txBytes: Number(fields[6]),
    };
  });
}
