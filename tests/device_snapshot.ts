/**
 * Reads per-peer state (endpoint, last handshake, counters) out of a `wg` UAPI `get=1` answer:
 * tests compare it with what `status` reports (the daemon itself reads the device's typed peers).
 */

/** One peer as the device reports it. */
export interface DevicePeerState {
  endpoint: string | null;
  /** Wall-clock ms of the last handshake, or null when there was none. */
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

/** Latest time a JS Date can hold: a handshake time past it would make `status` throw. */
const MAX_DATE_MS = 8.64e15;

/** A decimal counter, or null for anything else (a device must not make status unprintable). */
function counter(value: string): number | null {
  if (!/^[0-9]{1,16}$/.test(value)) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
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
        seconds = counter(value) ?? 0;
        break;
      case "last_handshake_time_nsec": {
        const nanoseconds = counter(value);
        const at = seconds * 1000 + Math.floor((nanoseconds ?? 0) / 1e6);
        if (current && seconds > 0 && nanoseconds !== null && at <= MAX_DATE_MS) {
          current.lastHandshake = at;
        }
        seconds = 0;
        break;
      }
      case "rx_bytes":
        if (current) current.rxBytes = counter(value) ?? 0;
        break;
      case "tx_bytes":
        if (current) current.txBytes = counter(value) ?? 0;
        break;
    }
  }
  return peers;
}
