import { assertEquals, assertIncludes } from "../assert.ts";
import { REPO_ROOT } from "./cli_harness.ts";

Deno.test("deno task demo:cli (the identity and trust walkthrough) runs to the end and cleans up", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo:cli"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  assertIncludes(stdout, "bob trusts: alice, carol");
  const directory = stdout.match(/Config dir: (\S+)\/alice/)?.[1];
  let exists = true;
  try {
    await Deno.stat(directory!);
  } catch {
    exists = false;
  }
  assertEquals(exists, false, `${directory} was left behind`);
});
