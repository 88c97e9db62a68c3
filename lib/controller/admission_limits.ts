/**
 * Replay and rate limits of report submissions: timestamps strictly increase per node and lie
 * within ±skew of the controller's clock; each node has a token bucket (default 10 a minute).
 */

import { ControllerRequestError } from "./controller_error.ts";

/** The limits; defaults are the roadmap's ±30 s and 10 per node per minute. */
export interface AdmissionLimits {
  skewSeconds: number;
  reportsPerMinute: number;
}

/** The defaults. */
export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = { skewSeconds: 30, reportsPerMinute: 10 };

/** Refuses a timestamp outside ±skew of now (409 would mislead clients that retry; 400 it is). */
export function checkSkew(micros: number, nowMs: number, limits: AdmissionLimits): void {
  const skewMicros = limits.skewSeconds * 1e6;
  const delta = micros - nowMs * 1000;
  if (delta > skewMicros) {
    throw new ControllerRequestError(
      400,
      `timestamp is ${
        (delta / 1e6).toFixed(1)
      }s in the future (more than ${limits.skewSeconds}s); check the node's clock`,
    );
  }
  if (-delta > skewMicros) {
    throw new ControllerRequestError(
      400,
      `timestamp is ${
        (-delta / 1e6).toFixed(1)
      }s old (more than ${limits.skewSeconds}s); send fresh reports, check the node's clock`,
    );
  }
}

/** Refuses a timestamp not after the node's last accepted one (a replay). */
export function checkReplay(micros: number, lastMicros: number | undefined): void {
  if (lastMicros !== undefined && micros <= lastMicros) {
    throw new ControllerRequestError(
      409,
      "replayed report: its timestamp is not after the node's last accepted report",
    );
  }
}

/** Per-node token buckets; `take` is called only for authenticated reports. */
export class ReportRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly limits: AdmissionLimits) {}

  /** Takes one token for `nodeId` at `nowMs`; throws 429 when none is left. */
  take(nodeId: string, nowMs: number): void {
    const capacity = this.limits.reportsPerMinute;
    const bucket = this.#buckets.get(nodeId) ?? { tokens: capacity, at: nowMs };
    bucket.tokens = Math.min(capacity, bucket.tokens + (nowMs - bucket.at) * capacity / 60_000);
    bucket.at = nowMs;
    if (bucket.tokens < 1) {
      this.#buckets.set(nodeId, bucket);
      throw new ControllerRequestError(
        429,
        `rate limit: at most ${capacity} reports per minute per node`,
      );
    }
    bucket.tokens -= 1;
    this.#buckets.set(nodeId, bucket);
  }
}
