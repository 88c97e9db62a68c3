/**
 * `up --relay-rate RATE` and `--relay-pairs N`: a relay's budgets, capped for a small relay (a
 * Raspberry Pi, a metered VM) below the gigabit defaults (lib/relay/relay_table.ts).
 */

import { UsageError } from "../errors.ts";
import type { RelayLimits } from "../relay/relay_table.ts";
import { integerFlag } from "./number_flags.ts";

/**
 * Bytes per datagram the packet budget is derived at: a full 1,420-MTU packet is ~1,500 bytes on
 * the wire, so a sender of full packets is bound by the byte budget, and one of small packets
 * (ACKs, VoIP) gets the same packet count a 1,250-byte average would.
 */
export const RELAY_RATE_DATAGRAM_BYTES = 1_250;
/** Bursts are this much of a second of the rate, as the defaults' (10,000 / 12.5 MB at 1 Gbit/s). */
const BURST_SECONDS = 0.1;
/** A burst admits at least this many full datagrams, so that a slow rate still passes a window. */
const MIN_BURST_DATAGRAMS = 16;
/** Full datagram size the minimum byte burst is counted in (MTU 1420 + WireGuard + relay frame). */
const FULL_DATAGRAM_BYTES = 1_500;
/** Slowest and fastest `--relay-rate`, bits per second. */
const MIN_RATE_BITS = 1_000_000;
const MAX_RATE_BITS = 100_000_000_000;
/** Most `--relay-pairs` (the table holds at most 1,024 members). */
export const MAX_RELAY_PAIRS = 65_536;

const UNITS: Record<string, number> = { kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** Bits per second from `10mbit`, `1.5gbit`, `500kbit` (SI units, case-insensitive), or null. */
export function parseBitRate(text: string): number | null {
  const match = /^([0-9]+(?:\.[0-9]+)?)(kbit|mbit|gbit)$/i.exec(text.trim());
  if (match === null) return null;
  return Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()]);
}

/** The per-sender budgets a rate in bits per second gives (see RELAY_RATE_DATAGRAM_BYTES). */
export function relayRateLimits(bitsPerSecond: number): Partial<RelayLimits> {
  const bytesPerSecond = Math.floor(bitsPerSecond / 8);
  const packetsPerSecond = Math.max(1, Math.round(bytesPerSecond / RELAY_RATE_DATAGRAM_BYTES));
  return {
    bytesPerSecond,
    packetsPerSecond,
    byteBurst: Math.max(
      Math.round(bytesPerSecond * BURST_SECONDS),
      MIN_BURST_DATAGRAMS * FULL_DATAGRAM_BYTES,
    ),
    packetBurst: Math.max(Math.round(packetsPerSecond * BURST_SECONDS), MIN_BURST_DATAGRAMS),
  };
}

/**
 * The relay limits `up`'s flags ask for (empty: the defaults); a one-line usage error for a bad
 * value, or for either flag without `--relay`.
 */
export function parseRelayFlags(
  rate: string | undefined,
  pairs: string | undefined,
  relay: boolean,
): Partial<RelayLimits> {
  for (const [name, value] of [["relay-rate", rate], ["relay-pairs", pairs]]) {
    if (value !== undefined && !relay) {
      throw new UsageError(`--${name} only applies with --relay`, "up");
    }
  }
  const limits: Partial<RelayLimits> = {};
  if (rate !== undefined) {
    const bits = parseBitRate(rate);
    if (bits === null || bits < MIN_RATE_BITS || bits > MAX_RATE_BITS) {
      throw new UsageError(
        `--relay-rate must be a rate like 10mbit, 200mbit or 1gbit (kbit, mbit or gbit; ` +
          `1mbit-100gbit), got '${rate}'`,
        "up",
      );
    }
    Object.assign(limits, relayRateLimits(bits));
  }
  if (pairs !== undefined) {
    limits.maxPairs = integerFlag(pairs, 0, "relay-pairs", 1, MAX_RELAY_PAIRS, "up");
  }
  return limits;
}
