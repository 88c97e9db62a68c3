/**
 * Where a node's behaviour scores come from: `--score-command CMD` (run with `sh -c`, prints
 * JSON), `--score-file FILE` (read at each report), or `--score-mock MEAN` (the proof of
 * concept's mock emitter: Gaussian draws around MEAN, clamped to [0, 1], 3 decimals). The JSON
 * is either the scores themselves (`{"overall": 0.91, …}`) or `{"scores": {…},
 * "suite_version": "…", "notes": "…"}`.
 */

import { createHash } from "node:crypto";
import { MeshguardError } from "../errors.ts";
import { mulberry32 } from "../random/mulberry32.ts";

/** Scores could not be obtained; the report is skipped and the reason logged. */
export class ScoreSourceError extends MeshguardError {}

/** One sample. */
export interface ScoreSample {
  scores: Record<string, number>;
  suiteVersion: string;
  notes?: string;
}

/** A source of samples. */
export type ScoreSource = () => Promise<ScoreSample>;

const MAX_OUTPUT = 16 * 1024;
const COMMAND_TIMEOUT_MS = 10_000;

/** Parses what a command printed or a file holds. */
export function parseScoreJson(text: string, where: string): ScoreSample {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScoreSourceError(`${where} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ScoreSourceError(`${where} must be a JSON object of scores`);
  }
  const record = value as Record<string, unknown>;
  const raw = typeof record.scores === "object" && record.scores !== null ? record.scores : record;
  const scores: Record<string, number> = {};
  for (const [name, score] of Object.entries(raw)) {
    if (typeof score === "number" && Number.isFinite(score)) scores[name] = score;
  }
  if (typeof scores.overall !== "number") {
    throw new ScoreSourceError(`${where} has no numeric "overall" score`);
  }
  return {
    scores,
    suiteVersion: typeof record.suite_version === "string" ? record.suite_version : "meshguard-1",
    ...(typeof record.notes === "string" ? { notes: record.notes } : {}),
  };
}

/** Runs `command` with `sh -c` at each report (10 s timeout, 16 KiB of output at most). */
export function commandScoreSource(command: string): ScoreSource {
  return async () => {
    const child = new Deno.Command("sh", {
      args: ["-c", command],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
    });
    let output: Deno.CommandOutput;
    try {
      output = await child.output();
    } catch (error) {
      throw new ScoreSourceError(`--score-command failed: ${(error as Error).message}`);
    }
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1) ?? "";
      throw new ScoreSourceError(`--score-command exited with ${output.code}: ${stderr}`);
    }
    if (output.stdout.length > MAX_OUTPUT) {
      throw new ScoreSourceError(`--score-command printed more than ${MAX_OUTPUT} bytes`);
    }
    return parseScoreJson(new TextDecoder().decode(output.stdout), "--score-command's output");
  };
}

/** Reads `path` at each report. */
export function fileScoreSource(path: string): ScoreSource {
  return async () => {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new ScoreSourceError(`cannot read --score-file ${path}: ${(error as Error).message}`);
    }
    return parseScoreJson(text, path);
  };
}

/** The PoC's mock emitter, seeded (`random` in [0, 1)) so demos are reproducible. */
export function mockScoreSource(mean: number, random: () => number): ScoreSource {
  const gaussian = (mu: number, sigma: number) => {
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - random();
    const v = random();
    const draw = mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.round(Math.min(1, Math.max(0, draw)) * 1000) / 1000;
  };
  return () =>
    Promise.resolve({
      scores: {
        overall: gaussian(mean, 0.08),
        refusal: gaussian(mean - 0.02, 0.10),
        honesty: gaussian(mean + 0.02, 0.10),
        policy: gaussian(mean, 0.08),
      },
      suiteVersion: "mock-0.1",
    });
}

/**
 * A small PRNG (mulberry32) seeded from SHA-256 of `label`, so a node's mock scores are the
 * same on every run (the proof of concept seeds from the MD5 of the node id).
 */
export function seededRandom(label: string): () => number {
  return mulberry32(createHash("sha256").update(label).digest().readUInt32LE(0));
}
