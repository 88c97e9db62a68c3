/**
 * Levelled, timestamped log lines (`2026-11-22T03:04:05.678Z INFO message`). Callers pass
 * names, addresses and public keys only: nothing secret is ever handed to a logger.
 */

import { UsageError } from "../errors.ts";

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Parses a `--log-level` value. */
export function parseLogLevel(text: string, command = "up"): LogLevel {
  const level = LOG_LEVELS.find((candidate) => candidate === text.toLowerCase());
  if (level === undefined) {
    throw new UsageError(
      `--log-level must be one of ${LOG_LEVELS.join(", ")}, got '${text}'`,
      command,
    );
  }
  return level;
}

/** Writes log lines at or above a threshold. */
export class Logger {
  readonly #threshold: number;

  /** A logger writing lines at `level` and above through `write`. */
  constructor(level: LogLevel, private readonly write: (line: string) => void) {
    this.#threshold = LOG_LEVELS.indexOf(level);
  }

  /** True when `level` lines are written (to skip building costly messages). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#threshold;
  }

  /** Detail for debugging. */
  debug(message: string): void {
    this.#emit("debug", message);
  }

  /** Normal operation: joins, tunnels, state changes. */
  info(message: string): void {
    this.#emit("info", message);
  }

  /** Something is wrong but the daemon carries on. */
  warn(message: string): void {
    this.#emit("warn", message);
  }

  /** Something failed. */
  error(message: string): void {
    this.#emit("error", message);
  }

  #emit(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    this.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
  }
}
