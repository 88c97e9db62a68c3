/**
 * The control protocol between the CLI and a running daemon: one JSON object and "\n" each way
 * per connection over a unix stream socket. Requests are validated strictly (the server answers
 * every malformed one with a clear `{"ok":false,"error":…}`); answers are checked by the client
 * before anything is printed from them.
 */

import { ControlError } from "./control_error.ts";
import {
  checkDaemonStatus,
  checkNat,
  type DaemonStatus,
  MAPPING,
  type NatMapping,
  type NatStatus,
} from "./daemon_status.ts";
import {
  checkEach,
  checkFields,
  checkObject,
  isObject,
  NUMBER,
  STRING,
  STRING_OR_NULL,
} from "./json_checks.ts";

export { ControlError } from "./control_error.ts";
export * from "./daemon_status.ts";

/** Commands the daemon understands. */
export const CONTROL_COMMANDS = ["status", "down", "reload", "netcheck"] as const;

/** One control command. */
export type ControlCommand = typeof CONTROL_COMMANDS[number];

/** Commands that change the daemon: only root or the daemon's own uid may send them. */
export const MUTATING_COMMANDS: ReadonlySet<ControlCommand> = new Set(["down", "reload"]);

/** Largest request accepted, in bytes (without the newline). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Largest answer the client reads, in bytes (a status with thousands of peers fits). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A request: `{"command":"status"}` and so on. */
export interface ControlRequest {
  command: ControlCommand;
}

/** One STUN server in a netcheck report. */
export interface NetcheckServer {
  /** Numeric `ip:port`. */
  server: string;
  /** Our mesh port as it saw it, or null. */
  mapped: string | null;
  rtt_ms: number | null;
  /** Why there is no answer ("timeout", "error 4xx"), or null. */
  error: string | null;
}

/** What `netcheck` answers (snake_case JSON, as `meshguard netcheck --json` prints it). */
export interface NetcheckReport extends NatStatus {
  /** The mesh port the mapping belongs to. */
  port: number;
  /** Where answers come from: members (default), servers (`--stun`), off (`--stun none`). */
  stun: "members" | "servers" | "off";
  servers: NetcheckServer[];
  mapping_v4: NatMapping;
  mapping_v6: NatMapping;
  /** One sentence on what the mapping means for direct connections. */
  direct: string;
}

/** The answer to `status`. */
export interface StatusResponse {
  ok: true;
  status: DaemonStatus;
}

/** The answer to `netcheck`. */
export interface NetcheckResponse {
  ok: true;
  netcheck: NetcheckReport;
}

/** The answer to `down` and `reload`. */
export interface OkResponse {
  ok: true;
}

/** A refused or failed request. */
export interface ErrorResponse {
  ok: false;
  error: string;
}

/** Any answer. */
export type ControlResponse = StatusResponse | NetcheckResponse | OkResponse | ErrorResponse;

/** The result of validating one incoming request. */
export type RequestValidation =
  | { ok: true; request: ControlRequest }
  | { ok: false; error: string };

/** True for commands only root or the daemon's uid may send. */
export function isMutatingCommand(command: ControlCommand): boolean {
  return MUTATING_COMMANDS.has(command);
}

function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/**
 * Validates one request line (without its "\n"): at most MAX_REQUEST_BYTES, a JSON object with
 * exactly one field, `command`, naming a known command. The error says what was wrong.
 */
export function validateControlRequest(text: string): RequestValidation {
  const size = new TextEncoder().encode(text).length;
  if (size > MAX_REQUEST_BYTES) {
    return { ok: false, error: `request too large: ${size} bytes (limit ${MAX_REQUEST_BYTES})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: 'malformed request: expected one JSON object like {"command":"status"}',
    };
  }
  if (!isObject(value)) {
    return {
      ok: false,
      error: `malformed request: expected a JSON object, got ${describeJsonType(value)}`,
    };
  }
  const extra = Object.keys(value).filter((key) => key !== "command");
  if (extra.length > 0) {
    return { ok: false, error: `malformed request: unexpected field ${JSON.stringify(extra[0])}` };
  }
  const command = value.command;
  if (command === undefined) return { ok: false, error: 'malformed request: no "command" field' };
  if (typeof command !== "string") {
    return { ok: false, error: `malformed request: "command" must be a string` };
  }
  if (!(CONTROL_COMMANDS as readonly string[]).includes(command)) {
    return {
      ok: false,
      error: `unknown command ${JSON.stringify(command.slice(0, 64))}; known: ${
        CONTROL_COMMANDS.join(", ")
      }`,
    };
  }
  return { ok: true, request: { command: command as ControlCommand } };
}

/** Checks that `value` has NetcheckReport's shape. */
export function checkNetcheckReport(value: unknown): NetcheckReport {
  const where = "netcheck";
  checkNat(value, where);
  const report = value as Record<string, unknown>;
  checkFields(report, where, {
    port: NUMBER,
    stun: [(v) => ["members", "servers", "off"].includes(v as string), "a STUN mode"],
    mapping_v4: MAPPING,
    mapping_v6: MAPPING,
    direct: STRING,
  });
  checkEach(report, "servers", where, (server, at) => {
    checkObject(server, at);
    checkFields(server, at, {
      server: STRING,
      mapped: STRING_OR_NULL,
      error: STRING_OR_NULL,
      rtt_ms: [(v) => v === null || (typeof v === "number" && v >= 0), "a number or null"],
    });
  });
  return value as NetcheckReport;
}

/**
 * Parses the daemon's answer (without its "\n") to `command`. An `ok` answer to `status` must
 * carry a valid status. Throws ControlError when the answer is not a valid response.
 */
export function parseControlResponse(text: string, command: ControlCommand): ControlResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlError("the daemon sent an answer that is not JSON");
  }
  if (!isObject(value) || typeof value.ok !== "boolean") {
    throw new ControlError('the daemon sent an answer without "ok"');
  }
  if (!value.ok) {
    if (typeof value.error !== "string") {
      throw new ControlError("the daemon refused the request without saying why");
    }
    return { ok: false, error: value.error };
  }
  if (command === "status") return { ok: true, status: checkDaemonStatus(value.status) };
  if (command === "netcheck") return { ok: true, netcheck: checkNetcheckReport(value.netcheck) };
  return { ok: true };
}
