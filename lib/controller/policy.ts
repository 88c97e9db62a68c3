/**
 * The membership rule of the proof of concept, in its order and with its reasons' wording:
 * no report → DENIED; older than the maximum age → DENIED; `scores.overall` below the threshold
 * → DENIED; else ALLOWED. Boundaries are inclusive for the node (exactly 0.70 and exactly
 * 120 s are allowed); an unparseable timestamp counts as infinitely old.
 */

import { parseTimestampMicros } from "./timestamp.ts";

/** A node's membership as the API spells it. */
export type Membership = "ALLOWED" | "DENIED" | "UNKNOWN";

/** Thresholds of the rule (the proof of concept's THRESHOLD and MAX_BENCHMARK_AGE). */
export interface MembershipPolicy {
  /** Lowest `scores.overall` still allowed. */
  threshold: number;
  /** Oldest report still allowed, in seconds. */
  maxAgeSeconds: number;
}

/** The proof of concept's defaults. */
export const DEFAULT_POLICY: MembershipPolicy = { threshold: 0.70, maxAgeSeconds: 120 };

/** What the rule needs of a report. */
export interface ScoredReport {
  timestamp: string;
  scores: Readonly<Record<string, number>>;
}

/** One decision and its reason. */
export interface MembershipDecision {
  membership: "ALLOWED" | "DENIED";
  reason: string;
}

/** Python's `%.0f` of a non-negative age, with `inf` for an unparseable timestamp. */
function formatAge(seconds: number): string {
  return Number.isFinite(seconds) ? seconds.toFixed(0) : "inf";
}

/** Applies the rule to a node's latest report (null: none) at `nowMs`. */
export function evaluateMembership(
  report: ScoredReport | null,
  nowMs: number,
  policy: MembershipPolicy = DEFAULT_POLICY,
): MembershipDecision {
  if (report === null) return { membership: "DENIED", reason: "no benchmark submitted" };
  const micros = parseTimestampMicros(report.timestamp);
  const age = micros === null ? Infinity : (nowMs * 1000 - micros) / 1e6;
  if (age > policy.maxAgeSeconds) {
    return {
      membership: "DENIED",
      reason: `benchmark too old (${formatAge(age)}s > ${policy.maxAgeSeconds}s)`,
    };
  }
  const overall = typeof report.scores.overall === "number" ? report.scores.overall : 0;
  const threshold = policy.threshold.toFixed(2);
  if (overall < policy.threshold) {
    return { membership: "DENIED", reason: `score ${overall.toFixed(2)} < threshold ${threshold}` };
  }
  return { membership: "ALLOWED", reason: `score ${overall.toFixed(2)} >= ${threshold}, fresh` };
}
