/**
 * The org CLI end to end: org-keygen → org-sign (v1, v2) → org-delegate → org-sign --grant →
 * org-vouch / org-revoke → cert show (human and --json, valid here or why not); and every bad
 * input is one `error:` line naming the problem, with nothing written.
 */

import { join } from "node:path";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { type CliResult, listNames, runMeshguard, temporaryDirectory } from "./cli_harness.ts";

function assertCleanError(result: CliResult, fragment: string): void {
  assertTrue(result.code !== 0, `exit code 0; stderr: ${result.stderr}`);
  assertEquals(result.stdout, "");
  assertTrue(result.stderr.startsWith("error: "), result.stderr);
  assertIncludes(result.stderr, fragment);
  assertEquals(result.stderr.trim().split("\n").filter((l) => l.startsWith("error")).length, 1);
  assertTrue(!/^\s+at /m.test(result.stderr), `stack trace in: ${result.stderr}`);
}

Deno.test("org CLI: keygen, sign v1/v2, delegate, sign as delegate, vouch, revoke, cert show", async () => {
  await using admin = await temporaryDirectory();
  await using node = await temporaryDirectory();
  await using issuer = await temporaryDirectory();
  const orgKeygen = await runMeshguard(["org-keygen"], { configDir: admin.path });
  assertEquals(orgKeygen.code, 0, orgKeygen.stderr);
  assertIncludes(orgKeygen.stderr, "Org domain: ");
  assertEquals((await Deno.stat(join(admin.path, "org", "org.key"))).mode! & 0o777, 0o600);
  assertCleanError(await runMeshguard(["org-keygen"], { configDir: admin.path }), "--force");
  assertEquals((await runMeshguard(["keygen"], { configDir: node.path })).code, 0);
  assertEquals((await runMeshguard(["keygen"], { configDir: issuer.path })).code, 0);
  const nodePub = join(node.path, "identity.pub");
  const wg = JSON.parse(
    (await runMeshguard(["config", "show", "--json"], { configDir: node.path })).stdout,
  ).identity.wireguard_public_key;

  const v1 = await runMeshguard(["org-sign", nodePub, "--name", "web", "--expires", "90d"], {
    configDir: admin.path,
  });
  assertEquals(v1.code, 0, v1.stderr);
  assertEquals((await Deno.stat(v1.stdout.trim())).size, 186);
  const v2Path = join(admin.path, "v2.cert");
  const v2 = await runMeshguard(
    ["org-sign", nodePub, "--name", "web", "--wg-pubkey", wg, "--out", v2Path],
    { configDir: admin.path },
  );
  assertEquals(v2.code, 0, v2.stderr);
  assertEquals((await Deno.stat(v2Path)).size, 314);

  // Valid here only where the org is trusted.
  const untrusted = await runMeshguard(["cert", "show", v2Path], { configDir: node.path });
  assertEquals(untrusted.code, 1);
  assertIncludes(untrusted.stdout, "valid here: no: its org is not in trusted_orgs/");
  const trust = await runMeshguard(["trust", "--org", join(admin.path, "org", "org.pub")], {
    configDir: node.path,
  });
  assertEquals(trust.code, 0, trust.stderr);
  const shown = await runMeshguard(["cert", "show", v2Path, "--json"], { configDir: node.path });
  assertEquals(shown.code, 0, shown.stderr);
  const report = JSON.parse(shown.stdout);
  assertEquals([report.version, report.valid_here, report.expires_at], [2, true, "never"]);
  assertTrue(/^web\.[0-9a-f]{6}\.mesh$/.test(report.fqdn), report.fqdn);

  // Delegation: the grant, then the issuer signs with its own identity.
  const grant = await runMeshguard(
    ["org-delegate", join(issuer.path, "identity.pub"), "--expires", "2099-01-01"],
    { configDir: admin.path },
  );
  assertEquals(grant.code, 0, grant.stderr);
  const delegatedPath = join(issuer.path, "d.cert");
  const delegated = await runMeshguard(
    ["org-sign", nodePub, "--name", "db", "--grant", grant.stdout.trim(), "--out", delegatedPath],
    { configDir: issuer.path },
  );
  assertEquals(delegated.code, 0, delegated.stderr);
  const delegatedReport = JSON.parse(
    (await runMeshguard(["cert", "show", delegatedPath, "--json"], { configDir: node.path }))
      .stdout,
  );
  assertEquals([delegatedReport.delegated, delegatedReport.valid_here], [true, true]);
  assertEquals(delegatedReport.expires_at, "2099-01-01T00:00:00Z");
  // The org's own key cannot use a grant made for another issuer.
  assertCleanError(
    await runMeshguard(["org-sign", nodePub, "--name", "db", "--grant", grant.stdout.trim()], {
      configDir: node.path,
    }),
    "the grant is for issuer",
  );

  // Vouch and revoke: files of 136 and 138 bytes; a revoked node's certificate is refused.
  const vouch = await runMeshguard(["org-vouch", nodePub], { configDir: admin.path });
  assertEquals(vouch.code, 0, vouch.stderr);
  assertEquals((await Deno.stat(vouch.stdout.trim())).size, 136);
  assertCleanError(
    await runMeshguard(["org-revoke", nodePub, "--reason", "bored"], { configDir: admin.path }),
    "--reason 'bored'",
  );
  const revoke = await runMeshguard(["org-revoke", nodePub, "--reason", "key-compromised"], {
    configDir: admin.path,
  });
  assertEquals(revoke.code, 0, revoke.stderr);
  assertEquals((await Deno.stat(revoke.stdout.trim())).size, 138);
  await Deno.mkdir(join(node.path, "revoked"), { mode: 0o700 });
  await Deno.copyFile(revoke.stdout.trim(), join(node.path, "revoked", "x.revoke"));
  const revoked = await runMeshguard(["cert", "show", v2Path], { configDir: node.path });
  assertEquals(revoked.code, 1);
  assertIncludes(revoked.stdout, "valid here: no: its node is revoked by the org");
});

Deno.test("org CLI: every bad input is one error line naming the problem; nothing is written", async () => {
  await using admin = await temporaryDirectory();
  await using empty = await temporaryDirectory();
  const key = (await runMeshguard(["keygen"], { configDir: empty.path })).stdout.trim();
  assertCleanError(
    await runMeshguard(["org-sign", key, "--name", "a"], { configDir: admin.path }),
    "run 'meshguard org-keygen' first",
  );
  assertEquals((await runMeshguard(["org-keygen"], { configDir: admin.path })).code, 0);
  const before = await listNames(admin.path);
  const cases: [string[], string][] = [
    [["org-sign", key], "needs --name"],
    [["org-sign", key, "--name", "Not_A_Label"], "is not a DNS label"],
    [["org-sign", key, "--name", "x".repeat(33)], "at most 32"],
    [["org-sign", key, "--name", "a", "--expires", "yesterday"], "not an RFC 3339 date"],
    [["org-sign", key, "--name", "a", "--expires", "2020-01-01"], "not in the future"],
    [["org-sign", key, "--name", "a", "--wg-pubkey", "A".repeat(43) + "="], "all zero"],
    [["org-sign", key, "--name", "a", "--wg-pubkey", key], "not the key derived from the node key"],
    [["org-sign", "AAAA", "--name", "a"], "decodes to 3 bytes"],
    [["org-sign", key, "--name", "a", "--grant", "/nonexistent.grant"], "no such file"],
    [["org-delegate", key], "needs --expires"],
  ];
  for (const [args, fragment] of cases) {
    assertCleanError(await runMeshguard(args, { configDir: admin.path }), fragment);
  }
  // Truncated, oversized and garbage certificate files.
  const truncated = join(admin.path, "t.cert");
  await Deno.writeFile(truncated, new Uint8Array(185));
  assertCleanError(
    await runMeshguard(["cert", "show", truncated], { configDir: admin.path }),
    "got 185",
  );
  const oversized = join(admin.path, "o.cert");
  await Deno.writeFile(oversized, new Uint8Array(315));
  assertCleanError(
    await runMeshguard(["cert", "show", oversized], { configDir: admin.path }),
    "at most 314 bytes, got 315",
  );
  await Deno.remove(truncated);
  await Deno.remove(oversized);
  assertEquals(await listNames(admin.path), before, "a refused command wrote something");
});
