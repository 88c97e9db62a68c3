/**
 * Resource samples of a running daemon from `/proc/<pid>`: resident memory (`VmRSS` in `status`)
 * and CPU time (`utime + stime` in `stat`, which the kernel sums over every thread of the
 * process, so the data worker counts too), plus the min/median/max summaries the soak prints.
 */

/** One reading of a process. */
export interface ProcessSample {
  pid: number;
  /** When it was taken (ms, `performance.now()`). */
  at: number;
  /** Resident set size in bytes. */
  rssBytes: number;
  /** User + system CPU time in seconds, over all threads. */
  cpuSeconds: number;
}

let clockTicks: number | null = null;

/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of utime and stime. */
async function ticksPerSecond(): Promise<number> {
  if (clockTicks !== null) return clockTicks;
  const output = await new Deno.Command("getconf", {
    args: ["CLK_TCK"],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(5_000),
  }).output();
  const value = Number(new TextDecoder().decode(output.stdout).trim());
  clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
  return clockTicks;
}

/** Reads one sample of `pid`; throws when the process is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const ticks = await ticksPerSecond();
  // Through `cat`: Deno treats /proc/<pid> of another process as needing --allow-all.
  const output = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`, `/proc/${pid}/status`],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`cannot read /proc/${pid}: ${new TextDecoder().decode(output.stderr)}`);
  }
  // stat is one line; status follows it.
  const stat = text.slice(0, text.indexOf("\n"));
  const status = text.slice(text.indexOf("\n") + 1);
  const at = performance.now();
  const rss = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!rss) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot read utime/stime from /proc/${pid}/stat: ${stat}`);
  }
  return { pid, at, rssBytes: Number(rss[1]) * 1024, cpuSeconds: (utime + stime) / ticks };
}

/** CPU used between two samples of one process, as a fraction of one core. */
export function cpuRate(from: ProcessSample, to: ProcessSample): number {
  if (from.pid !== to.pid) {
    throw new Error(`samples of different processes (${from.pid}, ${to.pid})`);
  }
  const seconds = (to.at - from.at) / 1000;
  return seconds > 0 ? (to.cpuSeconds - from.cpuSeconds) / seconds : 0;
}

/** The smallest, median and largest of some numbers. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** min/median/max of `values` (median of an even count: the mean of the two middle ones). */
export function spread(values: number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/** `min / median / max` with a unit, for the report lines. */
export function formatSpread(values: number[], format: (value: number) => string): string {
  const { min, median, max } = spread(values);
  return `min ${format(min)} / median ${format(median)} / max ${format(max)}`;
}

/** Bytes as MiB with one decimal. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A fraction of a core as a percentage with two decimals. */
export function percentOfCore(rate: number): string {
  return `${(rate * 100).toFixed(2)} %`;
}
