/**
 * Subprocess of control_uid_test.ts, run as another user: sends one control request and prints
 * one JSON line, `{"response":…}` or `{"error":"<class>","message":"…"}`.
 * Usage: control_client_agent.ts <socket path> <command>
 */

import { sendControlRequest } from "../../lib/control/control_client.ts";
import type { ControlCommand } from "../../lib/control/control_protocol.ts";

const [path, command] = Deno.args;
try {
  const response = await sendControlRequest(path, { command: command as ControlCommand });
  console.log(JSON.stringify({ response }));
} catch (error) {
  const name = error instanceof Error ? error.name : "unknown";
  console.log(JSON.stringify({ error: name, message: String((error as Error)?.message) }));
}
