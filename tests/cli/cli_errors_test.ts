import { join } from "node:path";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "../assert.ts";
import { type CliResult, listNames, runMeshguard, temporaryDirectory } from "./cli_harness.ts";

/** An error is one `error: …` line on stderr, nothing on stdout, and never a stack trace. */
function assertCleanError(result: CliResult, code: number, fragment: string): void {
  assertEquals(result.code, code, `exit code; stderr: ${result.stderr}`);
  assertEquals(result.stdout, "");
  assertTrue(result.stderr.startsWith("error: "), result.stderr);
  assertIncludes(result.stderr, fragment);
  assertTrue(!/^\s+at /m.test(result.stderr), `stack trace in: ${result.stderr}`);
}

const SMALL_ORDER_KEY = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; // the identity point
const NON_CANONICAL_KEY = "7f///////////////////////////////////////38="; // y = 2^255 - 19
const VALID_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="; // RFC 8032 TEST 1

Deno.test("trust refuses bad keys with the reason, and writes nothing", async () => {
  await using a = await temporaryDirectory();
  const cases: [string, string][] = [
    ["not-base64!!", "not valid base64"],
    ["AAAA", "decodes to 3 bytes"],
    ["A".repeat(42) + "B=", "non-zero padding bits"],
    [btoa("x".repeat(33)), "decodes to 33 bytes"],
    [SMALL_ORDER_KEY, "small-order"],
    [NON_CANONICAL_KEY, "non-canonical"],
    ["./missing.pub", "no such file"],
  ];
  for (const [key, fragment] of cases) {
    assertCleanError(await runMeshguard(["trust", key], { configDir: a.path }), 1, fragment);
  }
  assertEquals(await listNames(join(a.path, "authorized_keys")), []);
});

Deno.test("trust refuses names that are not DNS labels, including path traversal", async () => {
  await using a = await temporaryDirectory();
  const cases: [string, string][] = [
    ["../x", "may only contain"],
    ["../../etc/evil", "may only contain"],
    ["a/b", "may only contain"],
    ["Alice", "uppercase"],
    ["-a", "starts or ends"],
    ["a".repeat(64), "64 characters"],
  ];
  for (const [name, fragment] of cases) {
    assertCleanError(
      await runMeshguard(["trust", VALID_KEY, `--name=${name}`], { configDir: a.path }),
      1,
      fragment,
    );
  }
  assertEquals(await listNames(join(a.path, "authorized_keys")), []);
  assertEquals((await listNames(a.path)).filter((name) => name !== "authorized_keys"), []);
  // A key file whose name is not a label needs --name.
  const odd = join(a.path, "My Key.pub");
  await Deno.writeTextFile(odd, VALID_KEY + "\n");
  assertCleanError(await runMeshguard(["trust", odd], { configDir: a.path }), 1, "--name");
  const named = await runMeshguard(["trust", odd, "--name", "ok"], { configDir: a.path });
  assertEquals(named.code, 0, named.stderr);
});

Deno.test("trusting this node's own key is an error", async () => {
  await using a = await temporaryDirectory();
  const own = (await runMeshguard(["keygen"], { configDir: a.path })).stdout.trim();
  assertCleanError(await runMeshguard(["trust", own], { configDir: a.path }), 1, "own public key");
  assertCleanError(
    await runMeshguard(["trust", join(a.path, "identity.pub")], { configDir: a.path }),
    1,
    "own public key",
  );
});

Deno.test("revoke: unknown name, unknown key and junk are clear errors", async () => {
  await using a = await temporaryDirectory();
  await runMeshguard(["trust", VALID_KEY, "--name", "known"], { configDir: a.path });
  assertCleanError(
    await runMeshguard(["revoke", "nobody"], { configDir: a.path }),
    1,
    "no trusted peer named 'nobody' (trusted peers: known)",
  );
  assertCleanError(
    await runMeshguard(["revoke", SMALL_ORDER_KEY], { configDir: a.path }),
    1,
    "no trusted peer has key",
  );
  assertCleanError(
    await runMeshguard(["revoke", "../known"], { configDir: a.path }),
    1,
    "neither a peer name",
  );
  assertEquals(await listNames(join(a.path, "authorized_keys")), ["known.pub"]);
});

Deno.test("keygen refuses to overwrite without --force; --force replaces", async () => {
  await using a = await temporaryDirectory();
  const first = await runMeshguard(["keygen"], { configDir: a.path });
  const keyFile = await Deno.readTextFile(join(a.path, "identity.key"));
  const refused = await runMeshguard(["keygen"], { configDir: a.path });
  assertEquals(refused.code, 1);
  assertEquals(refused.stdout, "");
  assertIncludes(refused.stderr, `existing public key: ${first.stdout.trim()}`);
  assertIncludes(refused.stderr, "--force");
  assertEquals(await Deno.readTextFile(join(a.path, "identity.key")), keyFile);
  const forced = await runMeshguard(["keygen", "--force"], { configDir: a.path });
  assertEquals(forced.code, 0, forced.stderr);
  assertTrue(forced.stdout !== first.stdout);
  assertEquals(await Deno.readTextFile(join(a.path, "identity.pub")), forced.stdout);
  // Atomic writes leave no temporaries behind.
  assertEquals(await listNames(a.path), ["identity.key", "identity.pub"]);
});

Deno.test("a group- or world-accessible identity.key is refused everywhere it is loaded", async () => {
  await using a = await temporaryDirectory();
  await runMeshguard(["keygen"], { configDir: a.path });
  const keyPath = join(a.path, "identity.key");
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    await Deno.chmod(keyPath, mode);
    assertCleanError(
      await runMeshguard(["export"], { configDir: a.path }),
      1,
      `chmod 600 ${keyPath}`,
    );
    // keygen without --force still refuses rather than silently replacing it.
    assertEquals((await runMeshguard(["keygen"], { configDir: a.path })).code, 1);
  }
  const shown = await runMeshguard(["config", "show"], { configDir: a.path });
  assertEquals(shown.code, 1);
  assertIncludes(shown.stdout, "unusable:");
  assertIncludes(shown.stderr, "error: ");
  await Deno.chmod(keyPath, 0o600);
  assertEquals((await runMeshguard(["export"], { configDir: a.path })).code, 0);
});

Deno.test("a corrupt or unreadable identity.key is a clear error", async () => {
  await using a = await temporaryDirectory();
  await runMeshguard(["keygen"], { configDir: a.path });
  const keyPath = join(a.path, "identity.key");
  const good = await Deno.readTextFile(keyPath);
  await Deno.writeTextFile(keyPath, good.slice(0, 50) + "\n");
  assertCleanError(await runMeshguard(["export"], { configDir: a.path }), 1, "is corrupt");
  await Deno.writeTextFile(keyPath, "");
  assertCleanError(await runMeshguard(["export"], { configDir: a.path }), 1, "is corrupt");
  await Deno.remove(keyPath);
  await Deno.mkdir(keyPath, { mode: 0o700 });
  assertCleanError(
    await runMeshguard(["export"], { configDir: a.path }),
    1,
    "not a regular file",
  );
  await Deno.remove(keyPath);
  assertCleanError(
    await runMeshguard(["export"], { configDir: a.path }),
    1,
    "no identity in",
  );
  if (Deno.uid() !== 0) {
    // Root reads any file, so "unreadable" can only be produced for other users.
    await Deno.writeTextFile(keyPath, good, { mode: 0o600 });
    await Deno.chmod(keyPath, 0o000);
    assertCleanError(
      await runMeshguard(["export"], { configDir: a.path }),
      1,
      "permission denied",
    );
  }
});

Deno.test("usage errors print usage on stderr and exit 2", async () => {
  const none = await runMeshguard([], { configDir: null });
  assertEquals(none.code, 2);
  assertIncludes(none.stderr, "error: no command given");
  assertIncludes(none.stderr, "Usage: meshguard <command>");
  const unknown = await runMeshguard(["frobnicate"], { configDir: null, permissions: [] });
  assertEquals(unknown.code, 2);
  assertIncludes(unknown.stderr, "unknown command 'frobnicate'");
  await using a = await temporaryDirectory();
  const badFlag = await runMeshguard(["keygen", "--forse"], { configDir: a.path });
  assertEquals(badFlag.code, 2);
  assertIncludes(badFlag.stderr, "--forse");
  assertIncludes(badFlag.stderr, "Usage: meshguard keygen");
  const noKey = await runMeshguard(["trust"], { configDir: a.path });
  assertEquals(noKey.code, 2);
  assertIncludes(noKey.stderr, "Usage: meshguard trust");
  const badSub = await runMeshguard(["config", "edit"], { configDir: a.path });
  assertEquals(badSub.code, 2);
  assertIncludes(badSub.stderr, "unknown config subcommand");
  const missingValue = await runMeshguard(["trust", VALID_KEY, "--name"], { configDir: a.path });
  assertEquals(missingValue.code, 2);
  assertEquals(await listNames(a.path), []);
});

Deno.test("help, --help and version go to stdout and exit 0 with no permissions", async () => {
  const help = await runMeshguard(["help"], { configDir: null, permissions: [] });
  assertEquals(help.code, 0);
  assertIncludes(help.stdout, "Usage: meshguard <command>");
  for (const command of ["keygen", "export", "trust", "revoke", "config", "version", "device"]) {
    const own = await runMeshguard([command, "--help"], { configDir: null, permissions: [] });
    assertEquals(own.code, 0, own.stderr);
    assertIncludes(own.stdout, `Usage: meshguard ${command}`);
  }
  const version = await runMeshguard(["version"], { configDir: null, permissions: [] });
  const manifest = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assertEquals(version, { code: 0, stdout: `meshguard ${manifest.version}\n`, stderr: "" });
  const flag = await runMeshguard(["--version"], { configDir: null, permissions: [] });
  assertEquals(flag.stdout, version.stdout);
});

Deno.test("a missing Deno permission is reported as such, without a stack trace", async () => {
  await using a = await temporaryDirectory();
  const result = await runMeshguard(["keygen"], {
    configDir: a.path,
    permissions: ["--allow-read"],
  });
  assertCleanError(result, 1, "--allow-write");
  assertEquals(await listNames(a.path), []);
});

Deno.test("up: bad flags are usage errors that name the flag, before anything is created", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const configDir = `${dir}/config`;
    const cases: [string[], string][] = [
      [["up", "--port", "70000"], "--port must be an integer 0-65535"],
      [["up", "--mtu", "576"], "--mtu must be an integer 1280-65535"],
      [["up", "--workers", "0"], "--workers must be an integer 1-16"],
      [["up", "--workers", "two"], "--workers must be an integer 1-16"],
      [["up", "--seed", "[fd00::1"], "missing ']'"],
      [["up", "--seed", "a:b:c"], "write IPv6 seeds in brackets"],
      [["up", "--log-level", "loud"], "--log-level must be one of debug, info, warn, error"],
      [["up", "--interface", "a/b"], "is not a valid interface name"],
      [["up", "extra"], "up takes no arguments"],
      [["up", "--max-members", "100"], "--max-members only applies with --open"],
      [["up", "--open", "--max-members", "0"], "--max-members must be an integer 1-65534"],
      [["up", "--open", "--max-members", "65535"], "--max-members must be an integer 1-65534"],
      [["up", ...Array.from({ length: 17 }, (_, i) => `--seed=192.0.2.${i + 1}`)], "at most 16"],
      [["up", "--stun", "none", "--stun", "192.0.2.1:3478"], "--stun none turns STUN off"],
      [["up", "--stun", "a:b:c"], "write IPv6 servers in brackets"],
      [["up", "--stun", "192.0.2.1:99999"], "--stun"],
      [["up", ...Array.from({ length: 9 }, (_, i) => `--stun=192.0.2.${i + 1}`)], "at most 8"],
      [["up", "--relay-rate", "10mbit"], "--relay-rate only applies with --relay"],
      [["up", "--relay-pairs", "8"], "--relay-pairs only applies with --relay"],
      [["up", "--relay", "--relay-rate", "fast"], "--relay-rate must be a rate like 10mbit"],
      [["up", "--relay", "--relay-rate", "10mb"], "got '10mb'"],
      [["up", "--relay", "--relay-rate", "500kbit"], "1mbit-100gbit), got '500kbit'"],
      [["up", "--relay", "--relay-rate", "101gbit"], "1mbit-100gbit), got '101gbit'"],
      [["up", "--relay", "--relay-pairs", "0"], "--relay-pairs must be an integer 1-65536"],
      [["up", "--relay", "--relay-pairs", "two"], "--relay-pairs must be an integer 1-65536"],
      [["up", "--announce", "203.0.113.9:99999"], "--announce"],
      [["up", "--announce", "a:b:c"], "write IPv6 addresses in brackets"],
      [["up", "--announce", ""], "empty address"],
      [
        ["up", ...Array.from({ length: 5 }, (_, i) => `--announce=192.0.2.${i + 1}:1`)],
        "at most 4",
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runMeshguard(args, { configDir });
      assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assertIncludes(result.stderr, message);
      assertIncludes(result.stderr, "Usage: meshguard up");
    }
    // A usage error must not have created an identity (or anything else).
    await assertRejects(() => Deno.stat(configDir), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("device: a missing interface name, a bad --mtu, --workers or --retire-idle is a usage error", async () => {
  const permissions = ["--allow-read", "--allow-write", "--allow-net", "--allow-ffi"];
  const none = await runMeshguard(["device"], { configDir: null, permissions });
  assertEquals(none.code, 2);
  assertIncludes(none.stderr, "Usage: meshguard device");
  const mtu = await runMeshguard(["device", "wgx", "--mtu", "9"], { configDir: null, permissions });
  assertEquals(mtu.code, 2);
  assertIncludes(mtu.stderr, "--mtu must be an integer 1280-65535");
  for (const workers of ["0", "17", "1.5"]) {
    const bad = await runMeshguard(["device", "wgx", "--workers", workers], {
      configDir: null,
      permissions,
    });
    assertEquals(bad.code, 2, bad.stderr);
    assertIncludes(bad.stderr, `--workers must be an integer 1-16, got ${workers}`);
  }
  for (const seconds of ["0", "0.5", "soon"]) {
    const bad = await runMeshguard(["device", "wgx", "--retire-idle", seconds], {
      configDir: null,
      permissions,
    });
    assertEquals(bad.code, 2, bad.stderr);
    assertIncludes(
      bad.stderr,
      `--retire-idle must be a number of seconds, at least 1, got ${seconds}`,
    );
  }
});
