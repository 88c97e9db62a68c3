/**
 * Running a Deno test agent as another user (`nobody`, through setpriv), for the root-only tests
 * that check what a local user who is not root can reach.
 */

import { join } from "node:path";
import { assertEquals } from "./assert.ts";

/** The uid and gid the agents run as. */
export const NOBODY = 65534;

/**
 * Lets nobody traverse `parent` (0755) and makes `<parent>/deno`, owned by nobody: the agent's
 * DENO_DIR and HOME (it cannot write root's cache).
 */
export async function nobodyDenoDir(parent: string): Promise<string> {
  await Deno.chmod(parent, 0o755);
  const denoDir = join(parent, "deno");
  await Deno.mkdir(denoDir);
  await Deno.chown(denoDir, NOBODY, NOBODY);
  return denoDir;
}

/** Streams and limits of the agent process. */
export interface NobodyAgentOptions {
  stdin?: "piped" | "null";
  stdout?: "piped" | "null" | "inherit";
  stderr?: "piped" | "null" | "inherit";
  signal?: AbortSignal;
}

/**
 * `deno run <script> <args…>` as uid/gid nobody with no supplementary groups, a clean
 * environment and read/write/net permissions only.
 */
export function nobodyAgent(
  script: string,
  args: string[],
  denoDir: string,
  options: NobodyAgentOptions = {},
): Deno.Command {
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      Deno.execPath(),
      "run",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      script,
      ...args,
    ],
    env: { DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
    clearEnv: true,
    ...options,
  });
}

/** The one JSON value an agent printed, once it exited 0 (else fails with its stderr). */
export function agentJson(output: Deno.CommandOutput): unknown {
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
