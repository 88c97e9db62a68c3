/**
 * The controller's SQLite store (`node:sqlite`, WAL): reports, decisions, epochs (with their
 * secrets, so a restart keeps the sequence and the live keys) and an append-only audit table.
 * The database and its WAL files are created 0600: they hold epoch secrets.
 */

import { DatabaseSync } from "node:sqlite";
import type { BenchmarkReport } from "./benchmark_report.ts";
import type {
  AuditEntry,
  ControllerStore,
  StoredDecision,
  StoredReport,
} from "./controller_store.ts";
import type { EpochRecord } from "./epochs.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS epochs (
  id INTEGER PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, secret BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, node_id TEXT NOT NULL, body TEXT NOT NULL,
  timestamp_us INTEGER NOT NULL, received_ms INTEGER NOT NULL, overall REAL NOT NULL);
CREATE INDEX IF NOT EXISTS reports_node ON reports (node_id, seq);
CREATE TABLE IF NOT EXISTS decisions (
  node_id TEXT PRIMARY KEY, membership TEXT NOT NULL, reason TEXT NOT NULL,
  epoch_id INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  node_id TEXT, detail TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
`;

/** Creates `path` (0600) if missing, so SQLite never creates it with the umask's mode. */
function createPrivate(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.openSync(file, { write: true, createNew: true, mode: 0o600 }).close();
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    Deno.chmodSync(file, 0o600);
  }
}

/** A ControllerStore in one SQLite file. */
export class SqliteControllerStore implements ControllerStore {
  readonly #db: DatabaseSync;

  /** Opens (or creates) the database at `path`. */
  constructor(path: string) {
    createPrivate(path);
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    this.#db.exec(SCHEMA);
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** Newest epochs first. */
  latestEpochs(limit: number): EpochRecord[] {
    const rows = this.#db.prepare(
      "SELECT id, start_ms, end_ms, secret FROM epochs ORDER BY id DESC LIMIT ?",
    ).all(limit);
    return rows.map((row) => ({
      id: Number(row.id),
      startMs: Number(row.start_ms),
      endMs: Number(row.end_ms),
      secret: new Uint8Array(row.secret as Uint8Array),
    }));
  }

  /** Inserts or replaces an epoch (a forced rotation shortens the current one). */
  saveEpoch(epoch: EpochRecord): void {
    this.#db.prepare(
      "INSERT OR REPLACE INTO epochs (id, start_ms, end_ms, secret) VALUES (?, ?, ?, ?)",
    ).run(epoch.id, epoch.startMs, epoch.endMs, epoch.secret);
  }

  /** Each node's latest report. */
  latestReports(): Map<string, StoredReport> {
    const rows = this.#db.prepare(
      `SELECT body, timestamp_us, received_ms FROM reports
       WHERE seq IN (SELECT MAX(seq) FROM reports GROUP BY node_id)`,
    ).all();
    const latest = new Map<string, StoredReport>();
    for (const row of rows) {
      const report = JSON.parse(String(row.body)) as BenchmarkReport;
      latest.set(report.node_id, {
        report,
        timestampMicros: Number(row.timestamp_us),
        receivedMs: Number(row.received_ms),
      });
    }
    return latest;
  }

  /** Appends a report. */
  saveReport(stored: StoredReport): void {
    this.#db.prepare(
      `INSERT INTO reports (node_id, body, timestamp_us, received_ms, overall)
       VALUES (?, ?, ?, ?, ?)`,
    ).run(
      stored.report.node_id,
      JSON.stringify(stored.report),
      stored.timestampMicros,
      stored.receivedMs,
      stored.report.scores.overall ?? 0,
    );
  }

  /** A node's recent overall scores, oldest first. */
  scoreHistory(nodeId: string, limit: number): { atMs: number; overall: number }[] {
    const rows = this.#db.prepare(
      "SELECT received_ms, overall FROM reports WHERE node_id = ? ORDER BY seq DESC LIMIT ?",
    ).all(nodeId, limit);
    return rows.reverse().map((row) => ({
      atMs: Number(row.received_ms),
      overall: Number(row.overall),
    }));
  }

  /** Each node's latest decision. */
  latestDecisions(): Map<string, StoredDecision> {
    const decisions = new Map<string, StoredDecision>();
    const rows = this.#db.prepare(
      "SELECT node_id, membership, reason, epoch_id, at_ms FROM decisions",
    ).all();
    for (const row of rows) {
      decisions.set(String(row.node_id), {
        membership: row.membership as "ALLOWED" | "DENIED",
        reason: String(row.reason),
        epochId: Number(row.epoch_id),
        atMs: Number(row.at_ms),
      });
    }
    return decisions;
  }

  /** Records a node's decision. */
  saveDecision(nodeId: string, decision: StoredDecision): void {
    this.#db.prepare(
      `INSERT OR REPLACE INTO decisions (node_id, membership, reason, epoch_id, at_ms)
       VALUES (?, ?, ?, ?, ?)`,
    ).run(nodeId, decision.membership, decision.reason, decision.epochId, decision.atMs);
  }

  /** Appends to the audit table. */
  appendAudit(entry: AuditEntry): void {
    this.#db.prepare("INSERT INTO audit (at_ms, kind, node_id, detail) VALUES (?, ?, ?, ?)")
      .run(entry.atMs, entry.kind, entry.nodeId, entry.detail);
  }

  /** The last `limit` audit entries, oldest first. */
  audit(limit: number): AuditEntry[] {
    const rows = this.#db.prepare(
      "SELECT at_ms, kind, node_id, detail FROM audit ORDER BY seq DESC LIMIT ?",
    ).all(limit);
    return rows.reverse().map((row) => ({
      atMs: Number(row.at_ms),
      kind: row.kind as "decision" | "rotation",
      nodeId: row.node_id === null ? null : String(row.node_id),
      detail: String(row.detail),
    }));
  }

  /** Number of stored reports (tests: "nothing stored"). */
  get reportCount(): number {
    return Number(this.#db.prepare("SELECT COUNT(*) AS n FROM reports").get()!.n);
  }
}
