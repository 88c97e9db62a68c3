/**
 * The soak's figures: per-node RSS and CPU (start/end of the run, first and last steady minute),
 * their min/median/max, the growth bounds they are held to, and how long each fault took to
 * detect and to converge. Printed at the end of the run, also after a failure (with what exists).
 */

import {
  cpuRate,
  formatSpread,
  mebibytes,
  percentOfCore,
  type ProcessSample,
} from "./process_sampler.ts";

/** RSS at the end may be at most this many times the start … */
export const RSS_GROWTH_FACTOR = 1.5;
/** … plus this much (JIT warm-up, buffers reaching their working size). */
export const RSS_GROWTH_SLACK_BYTES = 20 * 1024 * 1024;
/** CPU in the last steady minute may be at most this many times the first steady minute … */
export const CPU_GROWTH_FACTOR = 2;
/**
 * … plus this fraction of a core (0.5 s of CPU per minute): at well under 1 % of a core the
 * first minute's rate is too small for a bare ratio to mean anything (scheduler tick noise).
 */
export const CPU_GROWTH_FLOOR = 0.5 / 60;

/** The samples of one node that the bounds are checked on. */
export interface NodeSamples {
  node: number;
  /** Whether this daemon was restarted during the run (its start sample is after the rejoin). */
  restarted: boolean;
  /** After formation (or after its rejoin, when restarted). */
  start?: ProcessSample;
  /** End of the first steady minute (survivors only). */
  firstMinuteEnd?: ProcessSample;
  /** Start of the last steady minute. */
  lastMinuteStart?: ProcessSample;
  /** End of the run. */
  end?: ProcessSample;
}

/** One fault's timings in seconds (null where it does not apply). */
export interface FaultTiming {
  fault: string;
  /** From the fault until every observer dropped the affected nodes. */
  detectedS: number | null;
  /** From the restart or heal until every live node lists every other alive. */
  aliveS: number | null;
  /** … and until every pair shows a handshake made after the fault (where it applies). */
  convergedS: number | null;
  /** From the restart or heal until every ping of the check was answered. */
  pingedS: number | null;
  /** Extra facts for the report (drops, suspicions, removals seen). */
  notes: string;
}

/** First-minute CPU rate of a node (survivors), or null. */
export function firstMinuteRate(samples: NodeSamples): number | null {
  if (!samples.start || !samples.firstMinuteEnd) return null;
  return cpuRate(samples.start, samples.firstMinuteEnd);
}

/** Last-minute CPU rate of a node, or null. */
export function lastMinuteRate(samples: NodeSamples): number | null {
  if (!samples.lastMinuteStart || !samples.end) return null;
  if (samples.lastMinuteStart.pid !== samples.end.pid) return null;
  return cpuRate(samples.lastMinuteStart, samples.end);
}

/**
 * The bound violations: RSS growth on every node with both samples; CPU growth of the last minute
 * against the node's own first minute, or for restarted nodes (which have no quiet first minute
 * of their own) against the survivors' median first minute.
 */
export function boundViolations(all: NodeSamples[], survivorMedianRate: number): string[] {
  const problems: string[] = [];
  for (const samples of all) {
    const { start, end } = samples;
    if (start && end && start.pid === end.pid) {
      const limit = RSS_GROWTH_FACTOR * start.rssBytes + RSS_GROWTH_SLACK_BYTES;
      if (end.rssBytes > limit) {
        problems.push(
          `node${samples.node}: RSS grew from ${mebibytes(start.rssBytes)} to ` +
            `${mebibytes(end.rssBytes)} (limit ${mebibytes(limit)})`,
        );
      }
    }
    const last = lastMinuteRate(samples);
    const base = samples.restarted ? survivorMedianRate : firstMinuteRate(samples);
    // A node without its samples (or a NaN median) would pass every bound unseen.
    if (last === null || base === null || !Number.isFinite(base) || !start || !end) {
      problems.push(`node${samples.node}: not sampled for the resource bounds`);
    } else {
      const limit = CPU_GROWTH_FACTOR * base + CPU_GROWTH_FLOOR;
      if (last > limit) {
        problems.push(
          `node${samples.node}: CPU ${percentOfCore(last)} of a core in the last minute, ` +
            `limit ${percentOfCore(limit)} (first minute ${percentOfCore(base)}` +
            `${samples.restarted ? ", survivors' median" : ""})`,
        );
      }
    }
  }
  return problems;
}

/** The report text: a row per node, the spreads, and the fault timings. */
export function formatReport(all: NodeSamples[], faults: FaultTiming[]): string {
  const lines: string[] = [];
  const column = (text: string, width: number) => text.padStart(width);
  const rate = (value: number | null) => value === null ? "-" : percentOfCore(value);
  const rss = (sample?: ProcessSample) => sample ? mebibytes(sample.rssBytes) : "-";
  lines.push("per-node resources (RSS from VmRSS; CPU from utime+stime over all threads):");
  lines.push(
    `  ${"node".padEnd(8)}${column("RSS start", 12)}${column("RSS end", 12)}` +
      `${column("CPU 1st min", 13)}${column("CPU last min", 14)}  note`,
  );
  for (const samples of all) {
    lines.push(
      `  ${`node${samples.node}`.padEnd(8)}${column(rss(samples.start), 12)}` +
        `${column(rss(samples.end), 12)}${column(rate(firstMinuteRate(samples)), 13)}` +
        `${column(rate(lastMinuteRate(samples)), 14)}  ` +
        (samples.restarted ? "restarted (start = after rejoin)" : ""),
    );
  }
  const starts = all.flatMap((s) => s.start ? [s.start.rssBytes] : []);
  const ends = all.flatMap((s) => s.end ? [s.end.rssBytes] : []);
  const firsts = all.flatMap((s) => firstMinuteRate(s) ?? []);
  const lasts = all.flatMap((s) => lastMinuteRate(s) ?? []);
  lines.push(`  RSS at start:        ${formatSpread(starts, mebibytes)}`);
  lines.push(`  RSS at end:          ${formatSpread(ends, mebibytes)}`);
  lines.push(`  CPU, first minute:   ${formatSpread(firsts, percentOfCore)} of a core`);
  lines.push(`  CPU, last minute:    ${formatSpread(lasts, percentOfCore)} of a core`);
  lines.push(
    `  bounds: RSS end ≤ ${RSS_GROWTH_FACTOR}× start + ${mebibytes(RSS_GROWTH_SLACK_BYTES)}; ` +
      `CPU last minute ≤ ${CPU_GROWTH_FACTOR}× first minute + ${
        percentOfCore(CPU_GROWTH_FLOOR)
      } of a core`,
  );
  lines.push("fault timings (s):");
  const seconds = (value: number | null) => value === null ? "-" : value.toFixed(1);
  for (const fault of faults) {
    lines.push(
      `  ${fault.fault.padEnd(34)} detected ${column(seconds(fault.detectedS), 6)}  ` +
        `alive ${column(seconds(fault.aliveS), 6)}  ` +
        `handshakes ${column(seconds(fault.convergedS), 6)}  pinged ${
          column(seconds(fault.pingedS), 6)
        }  ${fault.notes}`,
    );
  }
  return lines.join("\n");
}
