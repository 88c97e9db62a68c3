/**
 * The two tuning profiles, `lan` and `wan`, and the resolved configuration the engine runs
 * with. Defaults follow hashicorp/memberlist's DefaultLANConfig / DefaultWANConfig (the
 * values the Lifeguard paper was measured with), with the differences explained inline.
 */

import { SwimConfigError } from "./swim_errors.ts";

/** Every tunable of the engine; times are milliseconds. */
export interface SwimConfig {
  /** SWIM "protocol period" T': one probe is started per interval (scaled by health). */
  probeInterval: number;
  /** How long a direct ping waits for its ack before ping-req starts (scaled by health). */
  probeTimeout: number;
  /** SWIM "k": how many members are asked to probe indirectly. */
  indirectChecks: number;
  /** Interval of the gossip timer that sends pending updates on their own. */
  gossipInterval: number;
  /** Members each gossip round sends to. */
  gossipNodes: number;
  /** SWIM λ: every update is piggybacked up to λ·⌈log10(N+1)⌉ times. */
  retransmitMult: number;
  /** Lifeguard: minimum suspicion timeout = mult · max(1, log10 N) · probeInterval. */
  suspicionMult: number;
  /** Lifeguard: maximum suspicion timeout = this · minimum (before any confirmation). */
  suspicionMaxTimeoutMult: number;
  /** Lifeguard: the local health multiplier goes from 1 up to this value. */
  awarenessMaxMultiplier: number;
  /** Periodic push-pull (anti-entropy) with one random member. */
  pushPullInterval: number;
  /** How long a dead or left member stays listed before it is removed. */
  deadRetention: number;
  /** How long a removed (dead) member is still re-contacted, to heal partitions. */
  reconnectTimeout: number;
  /** Interval of those re-contact pings to a random dead member. */
  reconnectInterval: number;
  /** First delay between join attempts to the seeds; doubles up to `joinRetryMax`. */
  joinRetryInitial: number;
  /** Largest delay between join attempts. */
  joinRetryMax: number;
  /** Lifeguard on/off (awareness, dynamic suspicion, nacks, buddy); off only for comparisons. */
  lifeguard: boolean;
  /** Hello messages (signed, cleartext joins) verified per second at most. */
  helloRatePerSecond: number;
  /** Extra probes started at once because a member accused a member (bounds amplification). */
  maxExpeditedProbes: number;
}

/** The profile names. */
export type SwimProfileName = "lan" | "wan";

/**
 * LAN: memberlist's DefaultLANConfig (1 s period, 500 ms timeout, k=3, 200 ms gossip to 3,
 * λ=4, suspicion mult 4 / max mult 6, health up to 8×, push-pull 30 s, dead kept 30 s).
 */
const LAN: SwimConfig = {
  probeInterval: 1_000,
  probeTimeout: 500,
  indirectChecks: 3,
  gossipInterval: 200,
  gossipNodes: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  pushPullInterval: 30_000,
  deadRetention: 30_000,
  reconnectTimeout: 6 * 3_600_000,
  reconnectInterval: 10_000,
  joinRetryInitial: 1_000,
  joinRetryMax: 30_000,
  lifeguard: true,
  helloRatePerSecond: 50,
  maxExpeditedProbes: 4,
};

/**
 * WAN: memberlist's DefaultWANConfig (5 s period, 3 s timeout, gossip every 500 ms to 4,
 * push-pull 60 s) except suspicion mult 4 instead of 6: our suspicion only ever starts from
 * a node's *own* failed probe (two direct pings plus k ping-reqs), never from hearsay, so the
 * false-suspicion rate is far below memberlist's and the shorter timeout keeps detect-all
 * under memberlist's own 6·log10(N)·T formula.
 */
const WAN: SwimConfig = {
  ...LAN,
  probeInterval: 5_000,
  probeTimeout: 3_000,
  gossipInterval: 500,
  gossipNodes: 4,
  suspicionMult: 4,
  pushPullInterval: 60_000,
  deadRetention: 60_000,
  reconnectInterval: 30_000,
  joinRetryInitial: 2_000,
  joinRetryMax: 60_000,
};

/** The built-in profiles. */
export const SWIM_PROFILES: Readonly<Record<SwimProfileName, Readonly<SwimConfig>>> = {
  lan: LAN,
  wan: WAN,
};

/** Builds a configuration from a profile plus overrides, and checks it is usable. */
export function resolveSwimConfig(
  profile: SwimProfileName = "lan",
  overrides: Partial<SwimConfig> = {},
): SwimConfig {
  const base = SWIM_PROFILES[profile];
  if (!base) throw new SwimConfigError(`unknown SWIM profile "${profile}"; use "lan" or "wan"`);
  const config = { ...base, ...overrides };
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === "number" && !(Number.isFinite(value) && value >= 0)) {
      throw new SwimConfigError(`SWIM setting ${name} must be a finite number ≥ 0, got ${value}`);
    }
  }
  if (config.probeTimeout >= config.probeInterval) {
    throw new SwimConfigError(
      `probeTimeout (${config.probeTimeout} ms) must be shorter than probeInterval (${config.probeInterval} ms): the indirect probe needs the rest of the period`,
    );
  }
  if (config.awarenessMaxMultiplier < 1 || config.suspicionMaxTimeoutMult < 1) {
    throw new SwimConfigError("awarenessMaxMultiplier and suspicionMaxTimeoutMult must be ≥ 1");
  }
  return config;
}

/** SWIM: how many times an update is piggybacked, λ·⌈log10(N+1)⌉ (at least once). */
export function retransmitLimit(retransmitMult: number, members: number): number {
  return Math.max(1, retransmitMult * Math.ceil(Math.log10(members + 1)));
}

/** Lifeguard/memberlist: the minimum suspicion timeout for a group of `members`. */
export function suspicionTimeout(config: SwimConfig, members: number): number {
  return config.suspicionMult * Math.max(1, Math.log10(Math.max(1, members))) *
    config.probeInterval;
}
