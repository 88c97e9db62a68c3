/**
 * StrictModes for the trust store and the identity: a config directory, trust folder or key
 * file another user could change is refused with the command that fixes it; taking trust away
 * still works. The ownership cases need root (chown) and are skipped otherwise.
 */

import { join } from "node:path";
import { assertEquals, assertIncludes, assertRejects, assertTrue } from "../assert.ts";
import { currentUid, ownershipProblem } from "../../lib/config/strict_modes.ts";
import { IdentityError } from "../../lib/errors.ts";
import { generateIdentity } from "../../lib/identity/identity.ts";
import { loadIdentity, saveIdentity } from "../../lib/identity/identity_store.ts";
import { TrustPermissionError } from "../../lib/trust/trust_permissions.ts";
import { NOBODY } from "../as_nobody.ts";
import {
  addTrusted,
  listTrusted,
  removeTrusted,
  type TrustKind,
} from "../../lib/trust/trust_store.ts";

/** The error `fn` rejects with, checked to be of `errorClass`. */
async function rejection<E extends Error>(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    assertTrue(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    return error as E;
  }
  throw new Error(`expected ${errorClass.name}, but it resolved`);
}
const isRoot = currentUid() === 0;

/** A config dir (0700, as meshguard makes it) with one trusted peer `alice` and org `acme`. */
async function withStore(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-strict-" });
  try {
    for (const [kind, name] of [["peer", "alice"], ["org", "acme"]] as [TrustKind, string][]) {
      await addTrusted(dir, {
        kind,
        publicKey: (await generateIdentity()).publicKey,
        name,
        nameIsExplicit: true,
        confirmReplace: () => Promise.resolve(false),
      });
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertRefused(
  dir: string,
  kind: TrustKind,
  path: string,
  fix: string,
): Promise<void> {
  const error = await rejection(() => listTrusted(dir, kind), TrustPermissionError);
  assertEquals(error.path, path);
  assertIncludes(error.message, `refusing to use ${path}`);
  assertIncludes(error.message, `fix it with: ${fix} ${path}`);
}

Deno.test("strict modes: the message says who can write or owns the path, and the fix", () => {
  assertEquals(ownershipProblem("/x", { mode: 0o40700, uid: 0 }, 0), null);
  assertEquals(ownershipProblem("/x", { mode: 0o100644, uid: 1000 }, 1000), null);
  assertEquals(ownershipProblem("/x", { mode: 0o40755, uid: 0 }, 1000), null);
  assertEquals(
    ownershipProblem("/etc/meshguard/authorized_keys", { mode: 0o40775, uid: 0 }, 0),
    "refusing to use /etc/meshguard/authorized_keys: it is writable by group (mode 0775), so " +
      "another user could change which keys this node uses and trusts; fix it with: " +
      "chmod go-w /etc/meshguard/authorized_keys",
  );
  assertIncludes(ownershipProblem("/x", { mode: 0o100646, uid: 0 }, 0)!, "writable by others");
  assertIncludes(
    ownershipProblem("/x", { mode: 0o100666, uid: 0 }, 0)!,
    "writable by group and others (mode 0666)",
  );
  assertEquals(
    ownershipProblem("/x", { mode: 0o100644, uid: 1001 }, 0),
    "refusing to use /x: it is owned by uid 1001, who could change which keys this node uses " +
      "and trusts; only root may own it; fix it with: chown root /x",
  );
  assertIncludes(
    ownershipProblem("/x", { mode: 0o100644, uid: 1001 }, 1000)!,
    "only root or uid 1000 (the user running meshguard) may own it; fix it with: chown 1000 /x",
  );
  // Unknown own uid: only root passes.
  assertIncludes(
    ownershipProblem("/x", { mode: 0o100644, uid: 1000 }, null)!,
    "it needs --allow-sys=uid); fix it with: chown root /x",
  );
});

Deno.test("strict modes: a writable config dir, trust folder or key file is refused", () =>
  withStore(async (dir) => {
    const peers = join(dir, "authorized_keys");
    const orgs = join(dir, "trusted_orgs");
    const alice = join(peers, "alice.pub");
    const acme = join(orgs, "acme.org");
    assertEquals((await listTrusted(dir, "peer")).entries.length, 1);

    await Deno.chmod(dir, 0o770);
    await assertRefused(dir, "peer", dir, "chmod go-w");
    await assertRefused(dir, "org", dir, "chmod go-w");
    await Deno.chmod(dir, 0o700);

    await Deno.chmod(peers, 0o777);
    await assertRefused(dir, "peer", peers, "chmod go-w");
    await Deno.chmod(peers, 0o755);
    await Deno.chmod(orgs, 0o702);
    await assertRefused(dir, "org", orgs, "chmod go-w");
    await Deno.chmod(orgs, 0o700);

    await Deno.chmod(alice, 0o664);
    await assertRefused(dir, "peer", alice, "chmod go-w");
    // `trust` refuses to add to an unsafe store rather than write beside a planted key.
    await assertRejects(
      () =>
        addTrusted(dir, {
          kind: "peer",
          publicKey: new Uint8Array(32).fill(9),
          name: "bob",
          nameIsExplicit: true,
          confirmReplace: () => Promise.resolve(false),
        }),
      TrustPermissionError,
    );
    await Deno.chmod(alice, 0o644);
    await Deno.chmod(acme, 0o646);
    await assertRefused(dir, "org", acme, "chmod go-w");
    await Deno.chmod(acme, 0o600);

    // Fixed as the messages say: everything loads again.
    assertEquals((await listTrusted(dir, "peer")).entries.map((entry) => entry.name), ["alice"]);
    assertEquals((await listTrusted(dir, "org")).entries.map((entry) => entry.name), ["acme"]);
  }));

Deno.test("strict modes: revoking still works in an unsafe store (taking trust away is safe)", () =>
  withStore(async (dir) => {
    await Deno.chmod(join(dir, "authorized_keys"), 0o777);
    const removed = await removeTrusted(dir, "peer", "alice");
    assertEquals(removed.map((entry) => entry.name), ["alice"]);
    await Deno.chmod(join(dir, "authorized_keys"), 0o700);
    assertEquals((await listTrusted(dir, "peer")).entries, []);
  }));

Deno.test("strict modes: a key file linked from a directory others can write is refused", () =>
  withStore(async (dir) => {
    const outside = join(dir, "outside");
    await Deno.mkdir(outside);
    await Deno.chmod(outside, 0o777);
    const target = join(outside, "mallory.pub");
    await Deno.copyFile(join(dir, "authorized_keys", "alice.pub"), target);
    await Deno.remove(join(dir, "authorized_keys", "alice.pub"));
    await Deno.symlink(target, join(dir, "authorized_keys", "alice.pub"));
    const error = await rejection(() => listTrusted(dir, "peer"), TrustPermissionError);
    assertEquals(error.path, outside);
    assertIncludes(error.message, `chmod go-w ${outside}`);
    assertIncludes(error.message, `which ${join(dir, "authorized_keys", "alice.pub")}`);
    await Deno.chmod(outside, 0o755);
    assertEquals((await listTrusted(dir, "peer")).entries.length, 1);
  }));

Deno.test({
  name: "strict modes: a trust path owned by another user is refused (root only)",
  ignore: !isRoot,
  fn: () =>
    withStore(async (dir) => {
      const alice = join(dir, "authorized_keys", "alice.pub");
      await Deno.chown(alice, NOBODY, NOBODY);
      await assertRefused(dir, "peer", alice, "chown root");
      await Deno.chown(alice, 0, 0);
      await Deno.chown(join(dir, "trusted_orgs"), NOBODY, NOBODY);
      await assertRefused(dir, "org", join(dir, "trusted_orgs"), "chown root");
      await Deno.chown(join(dir, "trusted_orgs"), 0, 0);
      await Deno.chown(dir, NOBODY, NOBODY);
      await assertRefused(dir, "peer", dir, "chown root");
      await Deno.chown(dir, 0, 0);
      assertEquals((await listTrusted(dir, "peer")).entries.length, 1);
    }),
});

Deno.test("strict modes: the identity is refused from a config dir others could write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-strict-" });
  try {
    const identity = await generateIdentity();
    await saveIdentity(dir, identity, { force: false });
    assertTrue((await loadIdentity(dir)) !== null);
    await Deno.chmod(dir, 0o775);
    const error = await rejection(() => loadIdentity(dir), IdentityError);
    assertIncludes(error.message, `fix it with: chmod go-w ${dir}`);
    await Deno.chmod(dir, 0o700);
    if (isRoot) {
      // A key file another user owns could be swapped for a key that user knows.
      const keyPath = join(dir, "identity.key");
      await Deno.chown(keyPath, NOBODY, NOBODY);
      const owned = await rejection(() => loadIdentity(dir), IdentityError);
      assertIncludes(owned.message, `owned by uid ${NOBODY}`);
      assertIncludes(owned.message, `chown root ${keyPath}`);
      await Deno.chown(keyPath, 0, 0);
    }
    assertEquals((await loadIdentity(dir))!.publicKey, identity.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
