import { join } from "node:path";
import { assertEquals, assertIncludes } from "../assert.ts";
import { DOCUMENTED_PERMISSIONS, REPO_ROOT, temporaryDirectory } from "./cli_harness.ts";

const FIRST = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="; // RFC 8032 TEST 1
const SECOND = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="; // RFC 8032 TEST 2

/** Runs `trust` under `script`, which gives it a pseudo-terminal, answering `answer`. */
async function trustOnTerminal(configDir: string, key: string, answer: string) {
  const command = [
    Deno.execPath(),
    "run",
    "--no-prompt",
    ...DOCUMENTED_PERMISSIONS.trust,
    "main.ts",
    "trust",
    key,
    "--name",
    "x",
    "--config",
    configDir,
  ].join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(answer + "\n"));
  await writer.close();
  const output = await child.output();
  return { code: output.code, text: new TextDecoder().decode(output.stdout) };
}

const hasScript = new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((output) => output.success, () => false);

Deno.test({
  name: "on a terminal, replacing a name's key asks first; 'n' keeps it, 'y' replaces it",
  ignore: !await hasScript,
  async fn() {
    await using a = await temporaryDirectory();
    const file = join(a.path, "authorized_keys", "x.pub");
    assertEquals((await trustOnTerminal(a.path, FIRST, "y")).code, 0);
    const declined = await trustOnTerminal(a.path, SECOND, "n");
    assertEquals(declined.code, 1);
    assertIncludes(declined.text, "Replace it? [y/N]");
    assertIncludes(declined.text, "nothing changed");
    assertEquals(await Deno.readTextFile(file), FIRST + "\n");
    const accepted = await trustOnTerminal(a.path, SECOND, "y");
    assertEquals(accepted.code, 0, accepted.text);
    assertEquals(await Deno.readTextFile(file), SECOND + "\n");
  },
});
