import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals, assertTrue } from "../assert.ts";
import { temporaryDirectory } from "./fixtures.ts";

const SCRIPT = fileURLToPath(new URL("./serve_once.ts", import.meta.url));

Deno.test("control server: after close() a pending accept does not keep the process alive", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-ffi",
      SCRIPT,
      path,
    ],
    stdout: "piped",
    stderr: "piped",
    // Bounded: a process kept alive by a pending accept would be killed here and fail below.
    signal: AbortSignal.timeout(20_000),
  }).output();
  const elapsed = performance.now() - started;
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  assertEquals(new TextDecoder().decode(output.stdout), "served status\nclosed\n");
  // The script exits on its own, without Deno.exit: nothing was left pending.
  assertTrue(elapsed < 15_000, `took ${elapsed} ms`);
  await Deno.lstat(path).then(
    () => assertTrue(false, "socket file left behind"),
    (error) => assertTrue(error instanceof Deno.errors.NotFound),
  );
});
