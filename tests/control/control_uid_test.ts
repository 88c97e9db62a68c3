/**
 * The uid rule for real: as root, a client running as `nobody` (setpriv) may ask status but is
 * refused down; a daemon running as that uid accepts its down. Skipped when not root.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes } from "../assert.ts";
import { ControlServer } from "../../lib/control/control_server.ts";
import { recordingServer, sampleStatus, temporaryDirectory } from "./fixtures.ts";
import { agentJson, NOBODY, nobodyAgent, nobodyDenoDir } from "../as_nobody.ts";

const AGENT = fileURLToPath(new URL("./control_client_agent.ts", import.meta.url));
const isRoot = Deno.uid() === 0;

/** Runs the agent as nobody and returns what it printed. */
async function askAsNobody(denoDir: string, path: string, command: string): Promise<unknown> {
  const agent = nobodyAgent(AGENT, [path, command], denoDir, {
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
  return agentJson(await agent.output());
}

Deno.test({
  name: "control uid rule: another user gets status but is refused down (root only)",
  ignore: !isRoot,
  async fn() {
    await using dir = await temporaryDirectory();
    // nobody must reach the socket (0666) through the temporary directory.
    const denoDir = await nobodyDenoDir(dir.path);
    const path = join(dir.path, "mg0.sock");
    const { server, served: commands } = await recordingServer(path);
    try {
      assertEquals(await askAsNobody(denoDir, path, "status"), {
        response: { ok: true, status: sampleStatus() },
      });
      const refused = await askAsNobody(denoDir, path, "down") as {
        response: { ok: boolean; error: string };
      };
      assertEquals(refused.response.ok, false);
      assertIncludes(refused.response.error, "permission denied: 'down' is only allowed for root");
      assertIncludes(refused.response.error, `you are uid ${NOBODY}`);
      const reload = await askAsNobody(denoDir, path, "reload") as { response: { ok: boolean } };
      assertEquals(reload.response.ok, false);
      // The handler never saw the refused requests.
      assertEquals(commands, [`status from ${NOBODY}`]);
    } finally {
      await server.close();
    }

    // A daemon running as nobody accepts nobody's down.
    const own = await ControlServer.listen(path, () => ({ ok: true }), { daemonUid: NOBODY });
    try {
      assertEquals(await askAsNobody(denoDir, path, "down"), { response: { ok: true } });
    } finally {
      await own.close();
    }

    // A socket the user cannot reach: the client explains instead of saying "not running".
    const privateDir = join(dir.path, "private");
    await Deno.mkdir(privateDir, { mode: 0o700 });
    const hidden = join(privateDir, "mg0.sock");
    const root = await ControlServer.listen(hidden, () => ({ ok: true }), { daemonUid: 0 });
    try {
      const denied = await askAsNobody(denoDir, hidden, "status") as {
        error: string;
        message: string;
      };
      assertEquals(denied.error, "ControlPermissionError");
      assertIncludes(denied.message, `permission denied on the control socket ${hidden}`);
    } finally {
      await root.close();
    }
  },
});
