/**
 * Reads the per-peer state the daemon reports (endpoint, last handshake, counters) out of the
 * device's `wg` UAPI `get=1` answer, so status shows exactly what `wg show` shows.
 */

/** One peer as the device reports it. */
export interface DevicePeerState {
  endpoint: string | null;
  /** Wall-clock ms of the last handshake, or null when there was none. */
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

/** Parses a `get=1` answer into peers keyed by hex WireGuard public key. */
export function parseDeviceSnapshot(answer: string): Map<string, DevicePeerState> {
  const peers = new Map<string, DevicePeerState>();
  let current: DevicePeerState | null = null;
  let seconds = 0;
  for (const line of answer.split("\n")) {
    const at = line.indexOf("=");
    if (at < 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    switch (key) {
      case "public_key":
        current = { endpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0 };
        peers.set(value, current);
        break;
      case "endpoint":
        if (current) current.endpoint = value;
        break;
      case "last_handshake_time_sec":
        seconds = Number(value);
        break;
      case "last_handshake_time_nsec":
        if (current && seconds > 0) {
          current.lastHandshake = seconds * 1000 + Math.floor(Number(value) / 1e6);
        }
        seconds = 0;
        break;
      case "rx_bytes":
        if (current) current.rxBytes = Number(value);
        break;
      case "tx_bytes":
        if (current) current.txBytes = Number(value);
        break;
    }
  }
  return peers;
}
