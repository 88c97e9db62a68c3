/**
 * Subprocess of control_exit_test.ts: serves one status request, closes the server, and then
 * must exit by itself (no Deno.exit): a pending accept left behind would keep it alive.
 */

import { ControlServer } from "../../lib/control/control_server.ts";
import { sendControlRequest } from "../../lib/control/control_client.ts";
import { sampleStatus } from "./fixtures.ts";

const path = Deno.args[0];
const server = await ControlServer.listen(path, () => ({ ok: true, status: sampleStatus() }), {
  daemonUid: 0,
});
const response = await sendControlRequest(path, { command: "status" });
if (response.ok) console.log("served status");
// The accept loop is now waiting for the next connection on the thread pool.
await server.close();
console.log("closed");
