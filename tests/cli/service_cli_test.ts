import { join } from "node:path";
import { assertEquals, assertIncludes } from "../assert.ts";
import { type CliResult, runMeshguard, temporaryDirectory } from "./cli_harness.ts";

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

Deno.test("CLI service show: an org member's org file is in its order when its certificate or org is given", async () => {
  await using dir = await temporaryDirectory();
  await using admin = await temporaryDirectory();
  await using stranger = await temporaryDirectory();
  await using member = await temporaryDirectory();
  const cli = (...args: string[]) => runMeshguard(args, { configDir: dir.path });
  const ok = (result: CliResult) => {
    assertEquals(result.code, 0, result.stderr);
    return result;
  };
  ok(await runMeshguard(["org-keygen"], { configDir: admin.path }));
  ok(await runMeshguard(["org-keygen"], { configDir: stranger.path }));
  ok(await runMeshguard(["keygen"], { configDir: member.path }));
  const memberPub = join(member.path, "identity.pub");
  const certPath = join(admin.path, "web.cert");
  const strangerCert = join(stranger.path, "web.cert");
  ok(
    await runMeshguard(["org-sign", memberPub, "--name", "web", "--out", certPath], {
      configDir: admin.path,
    }),
  );
  ok(
    await runMeshguard(["org-sign", memberPub, "--name", "web", "--out", strangerCert], {
      configDir: stranger.path,
    }),
  );
  ok(await cli("trust", "--org", join(admin.path, "org", "org.pub"), "--name", "acme"));
  const memberKey = (await Deno.readTextFile(memberPub)).trim();
  await Deno.mkdir(join(dir.path, "services", "org"), { recursive: true });
  await Deno.writeTextFile(join(dir.path, "services", "default"), "deny\n");
  await Deno.writeTextFile(join(dir.path, "services", "global.policy"), "allow tcp 80\n");
  await Deno.writeTextFile(join(dir.path, "services", "org", "acme.policy"), "allow tcp 5432\n");

  // Given its certificate: named by it (or by its certificate name), held to org/acme.policy.
  for (const args of [["--cert", certPath], ["web", "--cert", certPath]]) {
    const shown = ok(await cli("service", "show", ...args));
    assertIncludes(shown.stdout, "(member of org acme)");
    assertIncludes(shown.stdout, "order: org/acme.policy → global.policy → default");
    assertIncludes(shown.stdout, "tcp 5432   allow  org/acme.policy:1");
    assertIncludes(shown.stdout, "tcp 80     allow  global.policy:1");
    assertIncludes(shown.stdout, "tcp 22     deny   default");
  }
  // --org: what a member of acme would get.
  const byOrg = ok(await cli("service", "show", "--peer", memberKey, "--org", "acme"));
  assertIncludes(byOrg.stdout, "tcp 5432   allow  org/acme.policy:1");
  // Org unknown: the org file is left out, and a note says why.
  const unknown = ok(await cli("service", "show", memberKey));
  assertIncludes(unknown.stdout, "order: global.policy → default");
  assertIncludes(unknown.stdout, "tcp 5432   deny   default");
  assertIncludes(unknown.stderr, "note: org policies are not included");
  // A certificate that does not admit its node here, or of another node: one error line.
  const untrusted = await cli("service", "show", "--cert", strangerCert);
  assertEquals(untrusted.code, 1);
  assertEquals(untrusted.stdout, "");
  assertIncludes(
    untrusted.stderr,
    "does not admit its node here (its org is not in trusted_orgs/)",
  );
  const otherKey = (await Deno.readTextFile(join(stranger.path, "org", "org.pub"))).trim();
  const other = await cli("service", "show", otherKey, "--cert", certPath);
  assertEquals(other.code, 1);
  assertIncludes(other.stderr, "is the certificate of node");
  assertIncludes(
    (await cli("service", "show", "--org", "nobody")).stderr,
    "no org in trusted_orgs/",
  );
});
