/** `meshguard status` and `meshguard down` as subprocesses against an in-test control server. */

import { join } from "node:path";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { ControlServer } from "../../lib/control/control_server.ts";
import { REPO_ROOT } from "../cli/cli_harness.ts";
import { sampleStatus, temporaryDirectory } from "./fixtures.ts";

/** The permissions the README gives `status` and `down`. */
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys=uid",
];

async function meshguard(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...PERMISSIONS, "main.ts", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("cli status/down: table, --json, down, refusals, not running", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const commands: string[] = [];
  const server = await ControlServer.listen(path, (request) => {
    commands.push(request.command);
    if (request.command === "status") return { ok: true, status: sampleStatus() };
    return { ok: true };
  }, { daemonUid: Deno.uid()! });
  try {
    const table = await meshguard(["status", "--control", path]);
    assertEquals(table.code, 0, table.stderr);
    assertIncludes(table.stdout, "interface:       mg0\n");
    assertIncludes(table.stdout, "NAME        MESH IP ");
    assertTrue(/node2 +10\.99\.3\.4 +192\.0\.2\.2:51821 +alive +\S+ ago/.test(table.stdout));

    const json = await meshguard(["status", "--json", "--control", path]);
    assertEquals(json.code, 0, json.stderr);
    assertEquals(JSON.parse(json.stdout), sampleStatus());
    assertEquals(json.stdout, JSON.stringify(sampleStatus(), null, 2) + "\n");

    const down = await meshguard(["down", "--interface", "mg0", "--control", path]);
    assertEquals(down.code, 0, down.stderr);
    assertEquals(down.stdout, "meshguard on mg0 is stopping\n");
    assertEquals(commands, ["status", "status", "down"]);
  } finally {
    await server.close();
  }

  const missing = await meshguard(["status", "--control", path]);
  assertEquals(missing.code, 1);
  assertEquals(missing.stderr, `error: meshguard is not running (no control socket at ${path})\n`);
  const missingDown = await meshguard(["down", "--control", path]);
  assertEquals(missingDown.code, 1);
  assertEquals(
    missingDown.stderr,
    `error: meshguard is not running (no control socket at ${path})\n`,
  );
});

Deno.test("cli status/down: the daemon's refusal is the error", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const server = await ControlServer.listen(path, () => {
    throw new Error("the mesh is still starting");
  }, { daemonUid: Deno.uid()! });
  try {
    const down = await meshguard(["down", "--control", path]);
    assertEquals(down.code, 1);
    assertEquals(down.stderr, "error: the mesh is still starting\n");
    const status = await meshguard(["status", "--control", path]);
    assertEquals(status.code, 1);
    assertEquals(status.stderr, "error: the daemon refused status: the mesh is still starting\n");
  } finally {
    await server.close();
  }
});

Deno.test("cli status: the default path is <config dir>/<interface>.sock for non-root", async () => {
  await using dir = await temporaryDirectory();
  // MESHGUARD_CONFIG_DIR only matters for non-root; root's default is under /run/meshguard.
  const expected = Deno.uid() === 0
    ? "/run/meshguard/mgctltest9.sock"
    : join(dir.path, "mgctltest9.sock");
  const result = await meshguard(["status", "--interface", "mgctltest9"], {
    MESHGUARD_CONFIG_DIR: dir.path,
  });
  assertEquals(result.code, 1);
  assertEquals(
    result.stderr,
    `error: meshguard is not running (no control socket at ${expected})\n`,
  );
});

Deno.test("cli status/down: usage errors", async () => {
  const badInterface = await meshguard(["status", "--interface", "../etc", "--control", "/x"]);
  assertEquals(badInterface.code, 2);
  assertIncludes(badInterface.stderr, "--interface must be an interface name");
  assertIncludes(badInterface.stderr, "Usage: meshguard status");
  const extra = await meshguard(["down", "now"]);
  assertEquals(extra.code, 2);
  assertIncludes(extra.stderr, "down takes no arguments");
  const unknown = await meshguard(["status", "--verbose"]);
  assertEquals(unknown.code, 2);
  assertIncludes(unknown.stderr, "Usage: meshguard status");
  const help = await meshguard(["help", "down"]);
  assertEquals(help.code, 0);
  assertIncludes(help.stdout, "Usage: meshguard down");
});
