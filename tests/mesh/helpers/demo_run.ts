/**
 * Running a demo script (`tests/demo/*.ts`) the way its `deno task` does, and checking that it
 * left no namespace or file behind: shared by the demo tests.
 */

import { assertEquals, assertTrue } from "../../assert.ts";
import { REPO_ROOT, run } from "./mesh_lab.ts";

/** The permissions the demos' command lines grant (deno.json and the README must match). */
export const DEMO_PERMISSIONS = ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"];

/** Runs `script` to the end (at most 120 s) with DEMO_PERMISSIONS; returns its stdout. */
export async function runDemo(script: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...DEMO_PERMISSIONS, script],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, `the demo failed:\n${stdout}\n${stderr}`);
  return stdout;
}

/** The namespaces and the directory the demo's output names are gone. */
export async function assertDemoCleanedUp(stdout: string): Promise<void> {
  const tag = stdout.match(/bridge namespace mgm-([0-9a-f]+)-br/)?.[1];
  assertTrue(tag !== undefined, `the demo did not name its namespaces:\n${stdout}`);
  const namespaces = await run("ip", "netns", "list");
  assertTrue(!namespaces.includes(`mgm-${tag}-`), `namespaces left behind:\n${namespaces}`);
  const files = stdout.match(/control sockets in (\S+)/)?.[1];
  assertTrue(files !== undefined, "the demo did not name its directory");
  const left = await Deno.stat(files!).then(() => true, () => false);
  assertTrue(!left, `${files} left behind`);
}
