/**
 * Which relay a member uses for peers it has no direct path to (issue 13): the relay-capable
 * member with the lowest measured RTT (SWIM's direct probe round trips, Member.rtt), with
 * hysteresis (30% and 10 ms faster) so two relays of similar latency do not flap. A relay that dies, loses its proven
 * path or stops advertising the flag drops out of the candidates and the next best is chosen.
 */

/** A relay-capable, live member on a proven path. */
export interface RelayCandidate {
  /** Its key id. */
  id: string;
  /** Smoothed RTT of our direct probes to it (ms); -1 when not measured yet. */
  rtt: number;
}

/** A new relay must be this much faster than the current one to replace it, */
export const RELAY_SWITCH_RATIO = 0.7;
/** and faster by at least this much (ms): on a LAN, RTTs of a fraction of a ms are noise. */
export const RELAY_SWITCH_MIN_GAIN = 10;

/** The relay to use now, given the one in use (null: none); null when there is no candidate. */
export function chooseRelay<C extends RelayCandidate>(
  candidates: readonly C[],
  current: string | null,
): C | null {
  let best: C | null = null;
  let kept: C | null = null;
  for (const candidate of candidates) {
    if (candidate.id === current) kept = candidate;
    if (best === null || better(candidate, best)) best = candidate;
  }
  if (kept === null || best === null || best === kept) return best;
  if (kept.rtt < 0) return best.rtt >= 0 ? best : kept;
  const faster = best.rtt >= 0 && best.rtt < kept.rtt * RELAY_SWITCH_RATIO &&
    kept.rtt - best.rtt >= RELAY_SWITCH_MIN_GAIN;
  return faster ? best : kept;
}

/** Measured before unmeasured, then lower RTT, then lower id (a deterministic tie-break). */
function better(a: RelayCandidate, b: RelayCandidate): boolean {
  if ((a.rtt >= 0) !== (b.rtt >= 0)) return a.rtt >= 0;
  if (a.rtt !== b.rtt) return a.rtt < b.rtt;
  return a.id < b.id;
}
