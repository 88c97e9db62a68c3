import { join } from "node:path";
import { assertEquals, assertIncludes } from "../assert.ts";
import { runMeshguard, temporaryDirectory } from "./cli_harness.ts";

Deno.test("CLI service: allow/deny/default write the original's files; list, show and reset read them", async () => {
  await using dir = await temporaryDirectory();
  await using other = await temporaryDirectory();
  const cli = (...args: string[]) => runMeshguard(args, { configDir: dir.path });
  assertEquals((await runMeshguard(["keygen"], { configDir: other.path })).code, 0);
  const key = (await runMeshguard(["export"], { configDir: other.path })).stdout.trim();
  assertEquals((await cli("trust", key, "--name", "db")).code, 0);

  assertEquals((await cli("service", "list")).stdout, "default: allow\n");
  for (
    const args of [
      ["default", "deny"],
      ["allow", "tcp", "80"],
      ["allow", "--peer", "db", "tcp", "22"],
      ["deny", "udp", "1000-2000"],
      ["allow", "--org", "acme", "all"],
    ]
  ) {
    const result = await cli("service", ...args);
    assertEquals(result.code, 0, result.stderr);
  }
  const services = join(dir.path, "services");
  assertEquals(await Deno.readTextFile(join(services, "default")), "deny\n");
  assertEquals(
    await Deno.readTextFile(join(services, "global.policy")),
    "allow tcp 80\ndeny udp 1000-2000\n",
  );
  assertEquals(await Deno.readTextFile(join(services, "peer", "db.policy")), "allow tcp 22\n");
  assertEquals(await Deno.readTextFile(join(services, "org", "acme.policy")), "allow all\n");

  const list = await cli("service", "list");
  assertEquals(list.code, 0, list.stderr);
  assertEquals(
    list.stdout,
    "default: deny\nglobal.policy:\n  allow tcp 80\n  deny udp 1000-2000\npeer/db.policy:\n  allow tcp 22\norg/acme.policy (not applied: its name is not trusted):\n  allow all\n",
  );
  assertIncludes(list.stderr, "org/acme.policy: no trusted_orgs entry 'acme'");

  const show = await cli("service", "show", "db");
  assertEquals(show.code, 0, show.stderr);
  assertIncludes(show.stdout, "tcp 22     allow  peer/db.policy:1");
  assertIncludes(show.stdout, "tcp 80     allow  global.policy:1");
  assertIncludes(show.stdout, "tcp 443    deny   default");
  const anyone = await cli("service", "show");
  assertIncludes(anyone.stdout, "tcp 22     deny   default");

  // Bad input: one line of error, nothing written.
  const before = await Deno.readTextFile(join(services, "global.policy"));
  for (
    const args of [
      ["allow", "tcp", "99999"],
      ["allow", "icmp", "1"],
      ["allow", "--peer", "db", "--org", "x", "tcp", "1"],
      ["default", "maybe"],
      ["allow", "--peer", "Not/A/Name", "tcp", "1"],
      ["frobnicate"],
    ]
  ) {
    const result = await cli("service", ...args);
    assertEquals(result.code === 0, false, args.join(" "));
    assertEquals(result.stderr.split("\n")[0].startsWith("error: "), true, result.stderr);
  }
  assertEquals(await Deno.readTextFile(join(services, "global.policy")), before);
  // The 65th rule of a file is refused before it is written.
  for (let i = 1; i <= 62; i++) {
    await Deno.writeTextFile(join(services, "global.policy"), `allow tcp ${i}\n`, { append: true });
  }
  const full = await cli("service", "allow", "tcp", "9");
  assertIncludes(full.stderr, "65 rules, more than the 64");
  // A broken file is reported with file and line.
  await Deno.writeTextFile(join(services, "peer", "db.policy"), "allow tcp 22\nallow tpc 23\n");
  const broken = await cli("service", "list");
  assertEquals(broken.code, 1);
  assertIncludes(broken.stderr, "peer/db.policy:2: expected 'tcp', 'udp' or 'all'");

  const reset = await cli("service", "reset");
  assertEquals(reset.code, 0, reset.stderr);
  assertIncludes(reset.stderr, "Removed 4 policy files");
  assertEquals((await cli("service", "list")).stdout, "default: allow\n");
});
