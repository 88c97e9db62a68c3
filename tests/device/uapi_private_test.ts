/**
 * Finding 6 of issue 11: the UAPI socket answers `private_key=`, so no other user may ever
 * connect to it, not even between bind() and chmod(). The server runs as root with umask 000
 * (bind() then creates the socket 0777) and a `nobody` prober tries every socket file under
 * the socket's directory before each filesystem step of start-up and once serving. Root only.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../assert.ts";
import { agentJson, nobodyDenoDir } from "../as_nobody.ts";

const AGENT = fileURLToPath(new URL("./uapi_listen_agent.ts", import.meta.url));
const isRoot = Deno.uid() === 0;

Deno.test({
  name: "uapi socket: never connectable by another user while it is created (umask 000, root)",
  ignore: !isRoot,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "mg-uapi-" });
    try {
      // nobody may traverse to the socket directory: only the socket's own protection counts.
      const denoDir = await nobodyDenoDir(root);
      const path = join(root, "wireguard", "mgtest0.sock");
      const output = await new Deno.Command("sh", {
        args: [
          "-c",
          'umask 000 && exec "$@"',
          "sh",
          Deno.execPath(),
          "run",
          "--no-prompt",
          "--allow-read",
          "--allow-write",
          "--allow-net",
          "--allow-run=setpriv",
          AGENT,
          path,
          denoDir,
        ],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const result = agentJson(output) as {
        probes: number;
        breaches: { before: string; path: string }[];
        refusals: string[];
        positiveControl: string;
        answer: string;
      };
      assertEquals(result.breaches, []);
      // The prober can connect where it is allowed to, and was refused only for being another
      // user (or because nothing was there yet), never for a reason of its own.
      assertEquals(result.positiveControl, "connected");
      for (const refusal of result.refusals) {
        assertTrue(
          ["PermissionDenied", "NotFound", "ConnectionRefused"].includes(refusal),
          `a probe failed with ${refusal}`,
        );
      }
      // Not vacuous: the prober tried at each step, and root is answered once serving.
      assertTrue(result.probes >= 4, `only ${result.probes} probes`);
      assertEquals(result.answer, `private_key=${"ab".repeat(32)}\nerrno=0\n\n`);
      // Nothing of the private binding directory is left beside the socket.
      const left = [];
      for await (const entry of Deno.readDir(join(root, "wireguard"))) left.push(entry.name);
      assertEquals(left, []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
