/**
 * `meshguard status`, `down` and `netcheck` as subprocesses against an in-test control server.
 */

import { join } from "node:path";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { ControlServer } from "../../lib/control/control_server.ts";
import { REPO_ROOT } from "../cli/cli_harness.ts";
import { sampleStatus, temporaryDirectory } from "./fixtures.ts";
import type { NetcheckReport } from "../../lib/control/control_protocol.ts";

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

/** A netcheck answer: behind a NAT whose mapping varies by destination, asked two members. */
function sampleNetcheck(): NetcheckReport {
  return {
    port: 51821,
    stun: "members",
    servers: [
      { server: "192.0.2.1:51821", mapped: "203.0.113.7:40001", rtt_ms: 12.5, error: null },
      { server: "198.51.100.1:51821", mapped: "203.0.113.7:40002", rtt_ms: 30, error: null },
    ],
    mapped_v4: "203.0.113.7:40001",
    mapped_v6: null,
    mapping: "varies-by-destination",
    mapping_v4: "varies-by-destination",
    mapping_v6: "unknown",
    direct: "Behind a NAT that picks a new outside port per destination (symmetric).",
  };
}

Deno.test("cli netcheck: table, --json, not running, usage errors", async () => {
  await using dir = await temporaryDirectory();
  const path = join(dir.path, "mg0.sock");
  const server = await ControlServer.listen(path, (request) => {
    if (request.command === "netcheck") return { ok: true, netcheck: sampleNetcheck() };
    return { ok: false, error: "unexpected" };
  }, { daemonUid: Deno.uid()! });
  try {
    const table = await meshguard(["netcheck", "--control", path]);
    assertEquals(table.code, 0, table.stderr);
    assertIncludes(
      table.stdout,
      "mapping:       varies-by-destination (ipv4 varies-by-destination",
    );
    assertIncludes(table.stdout, "mapped ipv4:   203.0.113.7:40001\n");
    assertTrue(/198\.51\.100\.1:51821 +203\.0\.113\.7:40002 +30 ms/.test(table.stdout));
    assertIncludes(table.stdout, "(symmetric)");
    const json = await meshguard(["netcheck", "--json", "--control", path]);
    assertEquals(json.code, 0, json.stderr);
    assertEquals(JSON.parse(json.stdout), sampleNetcheck());
  } finally {
    await server.close();
  }
  const missing = await meshguard(["netcheck", "--control", path]);
  assertEquals(missing.code, 1);
  assertIncludes(missing.stderr, `meshguard is not running (no control socket at ${path}`);
  assertIncludes(missing.stderr, "start it with 'meshguard up'");
  const extra = await meshguard(["netcheck", "now"]);
  assertEquals(extra.code, 2);
  assertIncludes(extra.stderr, "Usage: meshguard netcheck");
});
