/**
 * Finding 7 of issue 11: a local user must not lock root out of the control socket. As root, a
 * client running as `nobody` (setpriv) keeps 300 silent connections open and reopens every one
 * the server drops; meanwhile root's `status` and `down` must each be answered promptly.
 * Before the fix the 16 slots stayed taken for 5 s each and the backlog filled, so root's
 * connect failed with EAGAIN. Root only.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../assert.ts";
import { sendControlRequest } from "../../lib/control/control_client.ts";
import type { ControlCommand } from "../../lib/control/control_protocol.ts";
import { recordingServer, temporaryDirectory } from "./fixtures.ts";
import { nobodyAgent, nobodyDenoDir } from "../as_nobody.ts";

const AGENT = fileURLToPath(new URL("./control_flood_agent.ts", import.meta.url));
const CONNECTIONS = 300;
/** Root's requests each get this long, the CLI's default being 5 s. */
const PROMPT_MS = 2_000;
const isRoot = Deno.uid() === 0;

Deno.test({
  name: "control socket: 300 idle connections of another user do not lock root out (root only)",
  ignore: !isRoot,
  async fn() {
    await using dir = await temporaryDirectory();
    const denoDir = await nobodyDenoDir(dir.path);
    const path = join(dir.path, "mg0.sock");
    const { server, served } = await recordingServer(path);
    const flood = nobodyAgent(AGENT, [path, String(CONNECTIONS), "60"], denoDir, {
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = flood.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    try {
      while (!output.includes("ready\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the flood agent exited early: ${output}`);
        output += value;
      }
      const latencies: number[] = [];
      for (const command of ["status", "down", "status", "down", "status", "down"]) {
        const started = performance.now();
        const response = await sendControlRequest(
          path,
          { command: command as ControlCommand },
          PROMPT_MS,
        );
        latencies.push(Math.round(performance.now() - started));
        assertEquals(response.ok, true, `${command}: ${JSON.stringify(response)}`);
      }
      console.log(`root's answers under the flood took ${latencies.join(", ")} ms`);
      assertTrue(Math.max(...latencies) < PROMPT_MS);
      assertEquals(served.filter((line) => line.endsWith("from 0")).length, 6);
      // The other user was never served: it sent nothing.
      assertEquals(served.filter((line) => !line.endsWith("from 0")), []);
    } finally {
      await flood.stdin.close().catch(() => {});
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        output += value;
      }
      await flood.status;
      await server.close();
    }
    const last = output.trim().split("\n").at(-1)!;
    console.log(`flood agent: ${last}`);
    // The flood really happened: the other user held connections and the server shed them.
    const counts = JSON.parse(last) as { connected: number; dropped: number };
    assertTrue(
      counts.connected >= CONNECTIONS,
      `the flood connected only ${counts.connected} times`,
    );
    assertTrue(counts.dropped > 0, "the server never dropped one of the flood's connections");
  },
});
