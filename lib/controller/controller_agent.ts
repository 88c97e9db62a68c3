/**
 * The node's agent for an admission controller (`meshguard up --controller URL`): submits
 * signed reports, polls `/v1/config/{id}`, and hands the admitted peers and their PSKs to the
 * daemon whenever they change (a poll, or an epoch boundary by the local clock).
 */

import { encodeHex } from "../encoding/base64.ts";
import type { Logger } from "../log/logger.ts";
import { AgentKeys } from "./agent_keys.ts";
import type { BenchmarkReport } from "./benchmark_report.ts";
import type { ScoreSource } from "./score_source.ts";
import type { ControllerStatus } from "../control/daemon_status.ts";

/** How the agent runs. */
export interface ControllerAgentOptions {
  /** Base URL, e.g. https://controller:8000 (no trailing path). */
  url: string;
  /** PEM of the CA that signed the controller's certificate (`--controller-ca`). */
  caCert?: string;
  nodeId: string;
  sign: (report: BenchmarkReport) => BenchmarkReport;
  /** The authorization header of a read (`request_auth.ts`). */
  signRead: (nodeId: string, path: string, nowMs: number) => string;
  scores: ScoreSource;
  reportMs: number;
  pollMs: number;
  failOpen: boolean;
  log: Logger;
  /** Called with the admitted set (WireGuard key → PSK) whenever it changes. */
  onAdmitted: (admitted: Map<Uint8Array, Uint8Array>) => void;
}

const REQUEST_TIMEOUT_MS = 5_000;

/** An error's message with its cause (fetch hides the reason, e.g. a certificate, there). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** The running agent. */
export class ControllerAgent {
  readonly #options: ControllerAgentOptions;
  readonly #keys: AgentKeys;
  readonly #client: Deno.HttpClient | undefined;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #boundary: ReturnType<typeof setTimeout> | undefined;
  /** Fingerprint of the admitted set last handed over; null: none yet (the first always is). */
  #lastAdmitted: string | null = null;
  #lastReason: string | null = null;
  #lastTimestampMs = 0;
  #stopped = false;
  #reachable = true;
  /** Wall-clock ms of the last answered poll (0: none yet), and the last poll's error. */
  #lastPollMs = 0;
  #lastError: string | null = null;

  constructor(options: ControllerAgentOptions) {
    this.#options = options;
    this.#keys = new AgentKeys(options.failOpen);
    this.#client = options.caCert === undefined
      ? undefined
      : Deno.createHttpClient({ caCerts: [options.caCert] });
  }

  /** Starts reporting and polling (a report first, then the first poll). */
  start(): void {
    this.#options.log.info(
      `controller ${this.#options.url}: reporting as ${this.#options.nodeId}; peers stay off the device until it allows them`,
    );
    const loop = (name: string, fn: () => Promise<void>, every: number) => {
      const run = async () => {
        if (this.#stopped) return;
        await fn().catch((error) => this.#options.log.warn(describe(error)));
        if (!this.#stopped) this.#timers.set(name, setTimeout(run, every));
      };
      run();
    };
    loop("report", () => this.#report(), this.#options.reportMs);
    loop("poll", () => this.#poll(), this.#options.pollMs);
  }

  /** Stops the loops. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    clearTimeout(this.#boundary);
    this.#client?.close();
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return await fetch(`${this.#options.url}${path}`, {
      ...init,
      client: this.#client,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    } as RequestInit);
  }

  async #report(): Promise<void> {
    const sample = await this.#options.scores();
    // Timestamps must strictly increase (the controller refuses replays).
    const nowMs = Math.max(Date.now(), this.#lastTimestampMs + 1);
    this.#lastTimestampMs = nowMs;
    const report = this.#options.sign({
      node_id: this.#options.nodeId,
      timestamp: new Date(nowMs).toISOString(),
      suite_version: sample.suiteVersion,
      scores: sample.scores,
      ...(sample.notes === undefined ? {} : { notes: sample.notes }),
    });
    const response = await this.#fetch(
      `/v1/benchmarks/${encodeURIComponent(this.#options.nodeId)}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(report),
      },
    );
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      this.#options.log.warn(
        `controller refused our report: ${response.status} ${answer.detail ?? ""}`,
      );
      return;
    }
    this.#options.log.debug(
      `SUBMITTED benchmark overall=${sample.scores.overall} epoch=${answer.epoch_id}`,
    );
  }

  async #poll(): Promise<void> {
    try {
      const path = `/v1/config/${encodeURIComponent(this.#options.nodeId)}`;
      const response = await this.#fetch(path, {
        headers: { authorization: this.#options.signRead(this.#options.nodeId, path, Date.now()) },
      });
      const config = await response.json();
      if (!response.ok) {
        throw new Error(`controller answered ${response.status}: ${config.detail ?? ""}`);
      }
      this.#keys.update(config);
      if (!this.#reachable) this.#options.log.info("controller reachable again");
      this.#reachable = true;
      this.#lastPollMs = Date.now();
      this.#lastError = null;
    } catch (error) {
      this.#lastError = describe(error);
      if (this.#reachable) {
        this.#options.log.warn(
          `controller unreachable (${
            (error as Error).message
          }); current keys are kept until they expire${
            this.#options.failOpen
              ? " (then kept: --controller-fail-open)"
              : ", then every peer is removed"
          }`,
        );
      }
      this.#reachable = false;
    }
    this.#evaluate();
  }

  /** What `status` shows of the agent at `nowMs` (the daemon adds the gated peers). */
  status(nowMs: number): Omit<ControllerStatus, "gated"> {
    const { admitted, epochId, reason } = this.#keys.admission(nowMs);
    return {
      url: this.#options.url,
      node_id: this.#options.nodeId,
      reachable: this.#reachable,
      last_poll: this.#lastPollMs === 0 ? null : new Date(this.#lastPollMs).toISOString(),
      last_error: this.#lastError,
      epoch: epochId,
      denied: reason,
      admitted: admitted.size,
      fail_open: this.#options.failOpen,
    };
  }

  /** Applies the admission at this moment and arms a timer for the next epoch boundary. */
  #evaluate(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const { admitted, epochId, reason } = this.#keys.admission(now);
    const fingerprint = [...admitted].map(([key, psk]) => encodeHex(key) + encodeHex(psk)).sort()
      .join(",");
    if (fingerprint !== this.#lastAdmitted) {
      this.#lastAdmitted = fingerprint;
      this.#options.onAdmitted(admitted);
      this.#options.log.info(
        epochId === null
          ? `controller: ${admitted.size} peer(s) admitted${reason ? ` (${reason})` : ""}`
          : `controller: epoch ${epochId}, ${admitted.size} peer(s) admitted`,
      );
    }
    if (reason !== this.#lastReason) {
      if (reason !== null) this.#options.log.info(`MEMBERSHIP=DENIED reason=${reason}`);
      this.#lastReason = reason;
    }
    clearTimeout(this.#boundary);
    const next = this.#keys.nextChange(now);
    if (Number.isFinite(next)) {
      this.#boundary = setTimeout(() => this.#evaluate(), Math.min(next - now + 1, 2 ** 31 - 1));
    }
  }
}
