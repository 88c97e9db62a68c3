/**
 * What the controller core persists, behind a synchronous interface (node:sqlite is
 * synchronous; tests use `MemoryControllerStore`). Every decision and rotation is also appended
 * to an audit log that is never rewritten.
 */

import type { BenchmarkReport } from "./benchmark_report.ts";
import type { EpochRecord } from "./epochs.ts";
import type { MembershipDecision } from "./policy.ts";

/** A report as stored, with when it arrived. */
export interface StoredReport {
  report: BenchmarkReport;
  /** Microseconds since the epoch of its timestamp (replay order). */
  timestampMicros: number;
  receivedMs: number;
}

/** A decision as stored. */
export interface StoredDecision extends MembershipDecision {
  epochId: number;
  atMs: number;
}

/** One audit entry. */
export interface AuditEntry {
  atMs: number;
  kind: "decision" | "rotation";
  nodeId: string | null;
  detail: string;
}

/** The controller's persistent state. */
export interface ControllerStore {
  /** The epochs with the highest ids, newest first (at most `limit`). */
  latestEpochs(limit: number): EpochRecord[];
  saveEpoch(epoch: EpochRecord): void;
  /** Each node's latest report. */
  latestReports(): Map<string, StoredReport>;
  saveReport(stored: StoredReport): void;
  /** The node's last `limit` overall scores, oldest first, for the status page's plot. */
  scoreHistory(nodeId: string, limit: number): { atMs: number; overall: number }[];
  /** Each node's latest decision. */
  latestDecisions(): Map<string, StoredDecision>;
  saveDecision(nodeId: string, decision: StoredDecision): void;
  appendAudit(entry: AuditEntry): void;
  /** The audit log, oldest first (tests and `status`). */
  audit(limit: number): AuditEntry[];
}

/** In-memory store (tests; a controller without `--db`). */
export class MemoryControllerStore implements ControllerStore {
  readonly #epochs: EpochRecord[] = [];
  readonly #reports: StoredReport[] = [];
  readonly #decisions = new Map<string, StoredDecision>();
  readonly #audit: AuditEntry[] = [];

  /** Newest epochs first. */
  latestEpochs(limit: number): EpochRecord[] {
    return [...this.#epochs].sort((a, b) => b.id - a.id).slice(0, limit);
  }
  /** Inserts or replaces by id. */
  saveEpoch(epoch: EpochRecord): void {
    const index = this.#epochs.findIndex((e) => e.id === epoch.id);
    if (index >= 0) this.#epochs[index] = epoch;
    else this.#epochs.push(epoch);
  }
  /** The latest report of each node. */
  latestReports(): Map<string, StoredReport> {
    const latest = new Map<string, StoredReport>();
    for (const stored of this.#reports) latest.set(stored.report.node_id, stored);
    return latest;
  }
  /** Appends a report. */
  saveReport(stored: StoredReport): void {
    this.#reports.push(stored);
  }
  /** Recent overall scores of a node. */
  scoreHistory(nodeId: string, limit: number): { atMs: number; overall: number }[] {
    return this.#reports.filter((s) => s.report.node_id === nodeId).slice(-limit).map((s) => ({
      atMs: s.receivedMs,
      overall: s.report.scores.overall ?? 0,
    }));
  }
  /** Latest decisions. */
  latestDecisions(): Map<string, StoredDecision> {
    return new Map(this.#decisions);
  }
  /** Records a decision. */
  saveDecision(nodeId: string, decision: StoredDecision): void {
    this.#decisions.set(nodeId, decision);
  }
  /** Appends to the audit log. */
  appendAudit(entry: AuditEntry): void {
    this.#audit.push(entry);
  }
  /** The audit log. */
  audit(limit: number): AuditEntry[] {
    return this.#audit.slice(-limit);
  }
  /** Number of stored reports (tests: "nothing stored"). */
  get reportCount(): number {
    return this.#reports.length;
  }
}
