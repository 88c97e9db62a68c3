/**
 * The bundle from packaging/build.ts, built into a temporary directory and run from elsewhere:
 * `version` and `keygen` anywhere; as root, the systemd unit's own ExecStart and ExecStop lines
 * (paths moved into the temporary directory) in a throwaway network namespace with CAP_NET_ADMIN
 * as the only capability, which proves the worker and the wasm core load from beside the bundle.
 */

import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { bundle, RUNTIME_FLAGS, UP_PERMISSION_FLAGS, WASM_FILES } from "../../packaging/build.ts";
import { VERSION } from "../../lib/version.ts";

const UNIT = new URL("../../packaging/systemd/meshguard.service", import.meta.url);
const decoder = new TextDecoder();

/** The words of one Exec line of the unit (continuation lines joined, leading '-' dropped). */
async function unitCommand(key: "ExecStart" | "ExecStop"): Promise<string[]> {
  const text = (await Deno.readTextFile(UNIT)).replace(/\\\n/g, " ");
  const line = text.split("\n").find((l) => l.startsWith(`${key}=`));
  if (line === undefined) throw new Error(`${key}= missing from the unit`);
  return line.slice(key.length + 1).replace(/^-/, "").trim().split(/\s+/);
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, { args, ...options, stdin: "null" }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function available(command: string, args: string[]): Promise<boolean> {
  try {
    return (await run(command, args)).code === 0;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A running child whose stderr is collected; `waitFor` resolves once a text shows up. */
class Daemon {
  stderr = "";
  exited = false;
  private readonly child: Deno.ChildProcess;
  private readonly reading: Promise<void>;

  constructor(command: string, args: string[], env: Record<string, string>) {
    const child = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    child.status.then(() => this.exited = true);
    this.reading = (async () => {
      for await (const chunk of child.stderr) this.stderr += decoder.decode(chunk);
    })();
  }

  async waitFor(text: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.stderr.includes(text) && !this.exited && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.stderr.includes(text);
  }

  /** Exit code, or null if it had to be killed after `ms`. */
  async exit(ms: number): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
    const code = await Promise.race([this.child.status.then((s) => s.code), timeout]);
    clearTimeout(timer);
    if (code === null) {
      this.child.kill("SIGKILL");
      await this.child.status;
    }
    await this.reading;
    return code;
  }
}

Deno.test("packaging: the systemd unit grants up's env and sys permissions", async () => {
  const words = await unitCommand("ExecStart");
  for (const flag of UP_PERMISSION_FLAGS) {
    const name = flag.split("=")[0];
    const inUnit = words.filter((w) => w === name || w.startsWith(`${name}=`));
    assertEquals(inUnit.length, 1, `${name} in ExecStart`);
    // read and write are scoped to the unit's paths; env and sys must match exactly.
    if (name === "--allow-env" || name === "--allow-sys") assertEquals(inUnit[0], flag);
  }
  // The daemon's memory depends on its V8 flags (packaging/build.ts RUNTIME_FLAGS).
  for (const flag of RUNTIME_FLAGS) assertTrue(words.includes(flag), `${flag} in ExecStart`);
});

Deno.test("packaging: the bundle runs from anywhere", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "meshguard-packaging-" });
  const dist = `${tmp}/opt`;
  try {
    await t.step("bundle writes the program, the worker and the wasm core", async () => {
      const written = await bundle(dist);
      const names = [];
      for await (const entry of Deno.readDir(dist)) names.push(entry.name);
      assertEquals(
        names.sort(),
        ["device_worker.js", "meshguard.js", ...WASM_FILES].sort(),
      );
      assertEquals(written.length, names.length);
    });

    await t.step("version, with no permissions, from a directory without deno.json", async () => {
      const result = await run(Deno.execPath(), ["run", `${dist}/meshguard.js`, "version"], {
        cwd: tmp,
      });
      assertEquals(result.stderr, "");
      assertEquals(result.stdout, `meshguard ${VERSION}\n`);
      assertEquals(result.code, 0);
    });

    await t.step("keygen with file access scoped to the config dir", async () => {
      const config = `${tmp}/keys`;
      const result = await run(Deno.execPath(), [
        "run",
        "--no-prompt",
        `--allow-read=${config}`,
        `--allow-write=${config}`,
        `${dist}/meshguard.js`,
        "keygen",
        "--config",
        config,
      ], { cwd: "/" });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout.trim().length, 44);
    });

    const root = Deno.uid() === 0;
    const tools = root && await available("ip", ["-V"]);
    await t.step({
      name: "as root: the unit's ExecStart/ExecStop, CAP_NET_ADMIN only, in a namespace",
      ignore: !tools,
      fn: () => unitInNamespace(tmp, dist),
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function unitInNamespace(tmp: string, dist: string): Promise<void> {
  const name = `mgpk${Deno.pid % 100000}`;
  const config = `${tmp}/etc`;
  const runtime = `${tmp}/run`;
  const control = `${runtime}/${name}.sock`;
  const uapi = `/var/run/wireguard/${name}.sock`;
  const hadUapiDir = await exists("/var/run/wireguard");
  // The unit's paths, moved into the temporary directory; deno is this deno.
  const relocate = (word: string) =>
    word === "/usr/bin/deno" ? Deno.execPath() : word
      .replaceAll("/opt/meshguard", dist)
      .replaceAll("/etc/meshguard", config)
      .replaceAll("/run/meshguard", runtime)
      .replaceAll("${MESHGUARD_INTERFACE}", name);
  const start = (await unitCommand("ExecStart")).map(relocate)
    .flatMap((w) => w === "$MESHGUARD_OPTS" ? ["--control", control] : [w]);
  const stop = [...(await unitCommand("ExecStop")).map(relocate), "--control", control];
  // CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE, as far as setpriv can show it.
  const capabilities = await available("setpriv", ["--version"])
    ? ["setpriv", "--bounding-set=-all,+net_admin,+net_bind_service", "--"]
    : [];
  const env = { MESHGUARD_CONFIG_DIR: config, DENO_NO_UPDATE_CHECK: "1" };
  const inNamespace = ["netns", "exec", name, ...capabilities];

  await run("ip", ["netns", "add", name]);
  let daemon: Daemon | null = null;
  try {
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
    daemon = new Daemon("ip", [...inNamespace, ...start], env);
    const ready = await daemon.waitFor(`control socket ${control}`, 20_000);
    assertTrue(ready, `the daemon did not start:\n${daemon.stderr}`);
    // The worker answered "ready" (it compiled the wasm core) before this line was logged.
    assertIncludes(daemon.stderr, `interface ${name} up`);
    // The bundle carries the DNS codec (npm, inlined) and the unit lets it bind port 53.
    assertIncludes(daemon.stderr, "mesh DNS on 10.99.");
    assertTrue(await exists(`${config}/identity.key`), "up created no identity");

    const down = await run("ip", [...inNamespace, ...stop], { env });
    assertEquals(down.code, 0, down.stderr);
    const code = await daemon.exit(15_000);
    daemon = null;
    assertEquals(code, 0, "the daemon did not exit after down");
    assertTrue(!await exists(uapi), `${uapi} left behind`);
    const links = await run("ip", ["-n", name, "-o", "link"]);
    assertTrue(!links.stdout.includes(`${name}:`), links.stdout);
  } finally {
    if (daemon) await daemon.exit(0);
    await run("ip", ["netns", "del", name]);
    await Deno.remove(uapi).catch(() => {});
    if (!hadUapiDir) await Deno.remove("/var/run/wireguard").catch(() => {});
  }
}
