/**
 * A benchmark report: the proof of concept's JSON shape, validated strictly, and the canonical
 * byte string a node signs. The string (UTF-8) is, with "\n" between the lines:
 *
 *   meshguard-benchmark-v1
 *   <node_id>
 *   <timestamp, exactly as sent>
 *   <suite_version>
 *   <scores as JSON: keys sorted by UTF-16 code units, numbers as JSON.stringify writes them>
 *   <notes, or nothing; last, so it may contain anything>
 *
 * No field before `notes` may contain a control character, so the lines cannot be confused.
 */

import { ControllerRequestError } from "./controller_error.ts";
import { parseTimestampMicros } from "./timestamp.ts";

/** Largest request body the controller reads. */
export const MAX_REPORT_BYTES = 16 * 1024;
/** Most score entries in one report. */
export const MAX_SCORES = 32;

/** Node ids: DNS-label-like, so they are safe in paths, logs and the canonical string. */
export const NODE_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A validated report. */
export interface BenchmarkReport {
  node_id: string;
  timestamp: string;
  suite_version: string;
  scores: Record<string, number>;
  notes?: string;
  /** Padded base64 of the 64-byte Ed25519 signature over `canonicalReportBytes`. */
  signature?: string;
}

// Control characters would blur the canonical string's lines.
// deno-lint-ignore no-control-regex
const TEXT_FIELD = /^[^\x00-\x1f\x7f]*$/;

function bad(message: string): ControllerRequestError {
  return new ControllerRequestError(400, message);
}

function textField(body: Record<string, unknown>, name: string, max: number): string {
  const value = body[name];
  if (typeof value !== "string") throw bad(`field "${name}" must be a string`);
  if (value.length > max) throw bad(`field "${name}" is longer than ${max} characters`);
  if (!TEXT_FIELD.test(value)) throw bad(`field "${name}" contains a control character`);
  return value;
}

/** Validates a decoded JSON body as a report; throws ControllerRequestError(400). */
export function parseReport(body: unknown): BenchmarkReport {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw bad("the report must be a JSON object");
  }
  const record = body as Record<string, unknown>;
  const nodeId = textField(record, "node_id", 63);
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw bad("node_id must be 1-63 letters, digits, '.', '_' or '-', starting alphanumeric");
  }
  const timestamp = textField(record, "timestamp", 40);
  if (parseTimestampMicros(timestamp) === null) {
    throw bad(`timestamp ${JSON.stringify(timestamp)} is not RFC 3339 (2026-01-05T10:00:00Z)`);
  }
  const suiteVersion = textField(record, "suite_version", 64);
  const scores = record.scores;
  if (typeof scores !== "object" || scores === null || Array.isArray(scores)) {
    throw bad('field "scores" must be an object of numbers');
  }
  const entries = Object.entries(scores);
  if (entries.length > MAX_SCORES) throw bad(`more than ${MAX_SCORES} scores`);
  const clean: Record<string, number> = {};
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > 64 || !TEXT_FIELD.test(name)) {
      throw bad("score names are 1-64 printable characters");
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw bad(`score "${name}" must be a finite number`);
    }
    clean[name] = value;
  }
  const report: BenchmarkReport = {
    node_id: nodeId,
    timestamp,
    suite_version: suiteVersion,
    scores: clean,
  };
  if (record.notes !== undefined && record.notes !== null) {
    if (typeof record.notes !== "string") throw bad('field "notes" must be a string');
    if (record.notes.length > 4096) throw bad('field "notes" is longer than 4096 characters');
    report.notes = record.notes;
  }
  if (record.signature !== undefined && record.signature !== null) {
    if (typeof record.signature !== "string") throw bad('field "signature" must be a string');
    report.signature = record.signature;
  }
  return report;
}

/** The scores as canonical JSON (sorted keys). */
export function canonicalScores(scores: Readonly<Record<string, number>>): string {
  const keys = Object.keys(scores).sort();
  return `{${
    keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(scores[key])}`).join(",")
  }}`;
}

/** The bytes a report's signature covers (see the module comment). */
export function canonicalReportBytes(report: BenchmarkReport): Uint8Array<ArrayBuffer> {
  const text = [
    "meshguard-benchmark-v1",
    report.node_id,
    report.timestamp,
    report.suite_version,
    canonicalScores(report.scores),
    report.notes ?? "",
  ].join("\n");
  return new TextEncoder().encode(text);
}
