import { join } from "node:path";
import { collidingIdentities, writeIdentity } from "../colliding_identities.ts";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { listNames, runMeshguard, temporaryDirectory } from "./cli_harness.ts";

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=\n$/;

Deno.test("CLI cycle: keygen → export → trust (file and raw) → config show → revoke", async () => {
  await using a = await temporaryDirectory();
  await using b = await temporaryDirectory();
  await using c = await temporaryDirectory();

  const keygenA = await runMeshguard(["keygen"], { configDir: a.path });
  assertEquals(keygenA.code, 0, keygenA.stderr);
  assertTrue(BASE64_KEY.test(keygenA.stdout), keygenA.stdout);
  assertEquals(await listNames(a.path), ["identity.key", "identity.pub"]);
  assertEquals((await Deno.stat(a.path)).mode! & 0o777, 0o700);
  assertEquals((await Deno.stat(join(a.path, "identity.key"))).mode! & 0o777, 0o600);
  assertEquals(await Deno.readTextFile(join(a.path, "identity.pub")), keygenA.stdout);
  assertEquals((await Deno.readTextFile(join(a.path, "identity.key"))).length, 89);

  const exportA = await runMeshguard(["export"], { configDir: a.path });
  assertEquals(exportA, { code: 0, stdout: keygenA.stdout, stderr: "" });

  assertEquals((await runMeshguard(["keygen"], { configDir: b.path })).code, 0);
  assertEquals((await runMeshguard(["keygen"], { configDir: c.path })).code, 0);
  const exportB = await runMeshguard(["export"], { configDir: b.path });
  const exportC = await runMeshguard(["export"], { configDir: c.path });

  // Trust B from a key file: the name comes from the file name.
  const bobFile = join(a.path, "..", `${a.path.split("/").pop()}-bob.pub`);
  await Deno.writeTextFile(bobFile, exportB.stdout);
  try {
    const trustFile = await runMeshguard(["trust", bobFile], { configDir: a.path });
    assertEquals(trustFile.code, 0, trustFile.stderr);
    assertEquals(trustFile.stdout, "");
    assertIncludes(trustFile.stderr, "trusted");
  } finally {
    await Deno.remove(bobFile);
  }
  const bobName = `${a.path.split("/").pop()}-bob`.toLowerCase();

  // Trust C as a raw key with a name.
  const trustRaw = await runMeshguard(["trust", exportC.stdout.trim(), "--name", "carol"], {
    configDir: a.path,
  });
  assertEquals(trustRaw.code, 0, trustRaw.stderr);
  assertIncludes(trustRaw.stderr, "Peer 'carol' trusted");
  assertEquals(
    await Deno.readTextFile(join(a.path, "authorized_keys", "carol.pub")),
    exportC.stdout,
  );

  const shown = await runMeshguard(["config", "show", "--json"], { configDir: a.path });
  assertEquals(shown.code, 0, shown.stderr);
  const report = JSON.parse(shown.stdout);
  assertEquals(report.config_dir, a.path);
  assertEquals(report.identity.public_key, exportA.stdout.trim());
  assertTrue(/^10\.99\.\d+\.\d+$/.test(report.identity.mesh_ipv4));
  assertTrue(report.identity.mesh_ipv6.startsWith("fd99:6d67::"));
  assertEquals(
    report.trusted_peers.map((peer: { name: string }) => peer.name).sort(),
    [
      bobName,
      "carol",
    ].sort(),
  );
  const carol = report.trusted_peers.find((peer: { name: string }) => peer.name === "carol");
  assertEquals(carol.public_key, exportC.stdout.trim());
  assertEquals(carol.fingerprint, exportC.stdout.slice(0, 8));

  const text = await runMeshguard(["config", "show"], { configDir: a.path });
  assertEquals(text.code, 0);
  assertIncludes(text.stdout, `Config dir: ${a.path}`);
  assertIncludes(text.stdout, carol.mesh_ipv4);
  assertIncludes(text.stdout, "Trusted peers (2)");

  // Revoke one by name and one by key.
  const revokeName = await runMeshguard(["revoke", "carol"], { configDir: a.path });
  assertEquals(revokeName.code, 0, revokeName.stderr);
  assertIncludes(revokeName.stderr, "Peer 'carol' revoked.");
  const revokeKey = await runMeshguard(["revoke", exportB.stdout.trim()], { configDir: a.path });
  assertEquals(revokeKey.code, 0, revokeKey.stderr);
  assertIncludes(revokeKey.stderr, `Peer '${bobName}' revoked.`);
  assertEquals(await listNames(join(a.path, "authorized_keys")), []);
  const after = JSON.parse(
    (await runMeshguard(["config", "show", "--json"], { configDir: a.path })).stdout,
  );
  assertEquals(after.trusted_peers, []);
});

Deno.test("CLI: trusting the same key under a new --name renames; the same pair is a no-op", async () => {
  await using a = await temporaryDirectory();
  await using b = await temporaryDirectory();
  await runMeshguard(["keygen"], { configDir: b.path });
  const key = (await runMeshguard(["export"], { configDir: b.path })).stdout.trim();
  assertEquals(
    (await runMeshguard(["trust", key, "--name", "bob"], { configDir: a.path })).code,
    0,
  );
  const again = await runMeshguard(["trust", key, "--name", "bob"], { configDir: a.path });
  assertEquals(again.code, 0);
  assertIncludes(again.stderr, "Peer 'bob' is already trusted.");
  const noName = await runMeshguard(["trust", key], { configDir: a.path });
  assertIncludes(noName.stderr, "Peer 'bob' is already trusted.");
  const renamed = await runMeshguard(["trust", key, "--name", "robert"], { configDir: a.path });
  assertEquals(renamed.code, 0);
  assertIncludes(renamed.stderr, "Peer renamed from 'bob' to 'robert'.");
  assertEquals(await listNames(join(a.path, "authorized_keys")), ["robert.pub"]);
});

Deno.test("CLI: a name holding another key is replaced only with --yes", async () => {
  await using a = await temporaryDirectory();
  await using b = await temporaryDirectory();
  await using c = await temporaryDirectory();
  await runMeshguard(["keygen"], { configDir: b.path });
  await runMeshguard(["keygen"], { configDir: c.path });
  const keyB = (await runMeshguard(["export"], { configDir: b.path })).stdout.trim();
  const keyC = (await runMeshguard(["export"], { configDir: c.path })).stdout.trim();
  const file = join(a.path, "authorized_keys", "peer.pub");
  await runMeshguard(["trust", keyB, "--name", "peer"], { configDir: a.path });

  // stdin is not a terminal: no prompt, a refusal that says how to proceed, nothing changed.
  const refused = await runMeshguard(["trust", keyC, "--name", "peer"], {
    configDir: a.path,
    stdin: "y\n",
  });
  assertEquals(refused.code, 1);
  assertIncludes(refused.stderr, "--yes");
  assertEquals(await Deno.readTextFile(file), keyB + "\n");

  const replaced = await runMeshguard(["trust", keyC, "--name", "peer", "--yes"], {
    configDir: a.path,
  });
  assertEquals(replaced.code, 0, replaced.stderr);
  assertIncludes(replaced.stderr, `was ${keyB}`);
  assertEquals(await Deno.readTextFile(file), keyC + "\n");
  assertEquals(await listNames(join(a.path, "authorized_keys")), ["peer.pub"]);
});

Deno.test("CLI: --org trusts into trusted_orgs/ under the org domain; revoke --org removes it", async () => {
  await using a = await temporaryDirectory();
  // RFC 8032 TEST 1 public key; its BLAKE3 starts 6c3104 (checked against hash-wasm).
  const orgKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const trusted = await runMeshguard(["trust", orgKey, "--org"], { configDir: a.path });
  assertEquals(trusted.code, 0, trusted.stderr);
  assertIncludes(trusted.stderr, "Org '6c3104' trusted (domain: 6c3104.mesh).");
  assertEquals(await listNames(join(a.path, "trusted_orgs")), ["6c3104.org"]);
  const report = JSON.parse(
    (await runMeshguard(["config", "show", "--json"], { configDir: a.path })).stdout,
  );
  assertEquals(report.trusted_orgs, [{
    name: "6c3104",
    public_key: orgKey,
    fingerprint: orgKey.slice(0, 8),
    domain: "6c3104",
  }]);
  assertEquals(report.trusted_peers, []);
  const revoked = await runMeshguard(["revoke", "6c3104", "--org"], { configDir: a.path });
  assertEquals(revoked.code, 0, revoked.stderr);
  assertEquals(await listNames(join(a.path, "trusted_orgs")), []);
});

Deno.test("CLI: trust and config show state who holds a shared mesh IPv4; --ipv4-owner moves it", async () => {
  await using a = await temporaryDirectory();
  // Two valid keys whose BLAKE3 digests both map to 10.99.7.158 (found by search); the second
  // sorts lower bytewise, which used to win the address.
  const first = "vVBcIqvOBfPOpupAl2H/8ICyi8r3VVLq5L3pqkvG4JE=";
  const second = "Wt0RRevT6+kkbYVpCGNY97Ms09eOezE5XuW7KQBIetE=";
  const trustFirst = await runMeshguard(["trust", first, "--name", "one"], { configDir: a.path });
  assertEquals(trustFirst.stderr.includes("warning"), false);
  const trustSecond = await runMeshguard(["trust", second, "--name", "two"], {
    configDir: a.path,
  });
  assertEquals(trustSecond.code, 0);
  assertIncludes(
    trustSecond.stderr,
    "warning: mesh IPv4 10.99.7.158 stays with one (first trusted or seen here); two reachable " +
      "over IPv6 only",
  );
  assertIncludes(trustSecond.stderr, `For this key: meshguard trust ${second} --ipv4-owner\n`);
  // The established holder is recorded, so the daemon keeps it too.
  assertIncludes(await Deno.readTextFile(join(a.path, "ipv4_holders")), `10.99.7.158 ${first}\n`);
  const text = await runMeshguard(["config", "show"], { configDir: a.path });
  assertIncludes(text.stdout, "10.99.7.158  one      first-seen  two\n");
  assertIncludes(text.stderr, "warning: mesh IPv4 10.99.7.158 stays with one");
  const report = async () =>
    JSON.parse((await runMeshguard(["config", "show", "--json"], { configDir: a.path })).stdout);
  assertEquals((await report()).mesh_ipv4_collisions, [{
    mesh_ipv4: "10.99.7.158",
    peers: ["one", "two"],
    includes_self: false,
    holder: "one",
    reason: "first-seen",
    ipv6_only: ["two"],
  }]);
  // The administrator's explicit action moves it; trust says so.
  const pinned = await runMeshguard(["trust", second, "--ipv4-owner"], { configDir: a.path });
  assertEquals(pinned.code, 0, pinned.stderr);
  assertIncludes(pinned.stderr, "Pinned mesh IPv4 10.99.7.158 to this key");
  assertIncludes(pinned.stderr, "stays with two (pinned by an administrator); one reachable");
  assertIncludes(await Deno.readTextFile(join(a.path, "ipv4_pins")), `10.99.7.158 ${second}\n`);
  assertEquals((await report()).mesh_ipv4_collisions[0].holder, "two");
  assertEquals((await report()).mesh_ipv4_collisions[0].reason, "pinned");
  // This node's own address stays its own: trust says so, --ipv4-owner is refused.
  await using b = await temporaryDirectory();
  const [self, other] = collidingIdentities();
  await writeIdentity(b.path, self);
  const otherKey = encodeBase64(other.publicKey);
  const refused = await runMeshguard(["trust", otherKey, "--ipv4-owner"], { configDir: b.path });
  assertEquals(refused.code === 0, false);
  assertIncludes(refused.stderr, "is this node's own address and stays its own");
  assertEquals(await listNames(join(b.path, "authorized_keys")).catch(() => []), []);
  const trusted = await runMeshguard(["trust", otherKey, "--name", "twin"], { configDir: b.path });
  assertEquals(trusted.code, 0, trusted.stderr);
  assertIncludes(trusted.stderr, "is this node's own address; twin reachable here over IPv6 only");
});

Deno.test("CLI: MESHGUARD_CONFIG_DIR is used without --config and created 0700", async () => {
  await using root = await temporaryDirectory();
  const dir = join(root.path, "nested", "mg");
  const made = await runMeshguard(["keygen"], {
    configDir: null,
    env: { MESHGUARD_CONFIG_DIR: dir },
  });
  assertEquals(made.code, 0, made.stderr);
  assertEquals((await Deno.stat(dir)).mode! & 0o777, 0o700);
  const exported = await runMeshguard(["export"], {
    configDir: null,
    env: { MESHGUARD_CONFIG_DIR: dir },
  });
  assertEquals(exported.stdout, made.stdout);
});

Deno.test("CLI: config show works offline on a missing dir and creates nothing", async () => {
  await using root = await temporaryDirectory();
  const dir = join(root.path, "absent");
  const shown = await runMeshguard(["config", "show", "--json"], { configDir: dir });
  assertEquals(shown.code, 0, shown.stderr);
  const report = JSON.parse(shown.stdout);
  assertEquals(report.config_dir_exists, false);
  assertEquals(report.identity, null);
  assertEquals(await listNames(root.path), []);
  const text = await runMeshguard(["config", "show"], { configDir: dir });
  assertIncludes(text.stdout, "(does not exist yet)");
  assertIncludes(text.stdout, "none (run 'meshguard keygen')");
});
