import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../assert.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { TrustError } from "../../lib/errors.ts";
import { generateIdentity } from "../../lib/identity/identity.ts";
import { addTrusted, listTrusted, removeTrusted } from "../../lib/trust/trust_store.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function freshKey(): Promise<Uint8Array> {
  return (await generateIdentity()).publicKey;
}

const never = () => Promise.resolve(false);

Deno.test("trust store: invalid files are reported and skipped, never fatal", () =>
  withDir(async (dir) => {
    const good = await freshKey();
    await addTrusted(dir, {
      kind: "peer",
      publicKey: good,
      name: "good",
      nameIsExplicit: true,
      confirmReplace: never,
    });
    const folder = join(dir, "authorized_keys");
    await Deno.writeTextFile(join(folder, "garbage.pub"), "hello\n");
    await Deno.writeTextFile(join(folder, "Upper.pub"), encodeBase64(await freshKey()) + "\n");
    await Deno.writeTextFile(join(folder, "twin.pub"), encodeBase64(good) + "\n");
    await Deno.writeTextFile(join(folder, "notes.txt"), "not a key file at all");
    await Deno.writeTextFile(join(folder, ".x.pub.tmp-0123"), "left by a crash");
    await Deno.mkdir(join(folder, "dir.pub"));
    const listing = await listTrusted(dir, "peer");
    assertEquals(listing.entries.map((entry) => entry.name), ["good"]);
    const problems = Object.fromEntries(
      listing.problems.map((problem) => [problem.path.split("/").pop(), problem.message]),
    );
    assertEquals(Object.keys(problems).sort(), ["Upper.pub", "dir.pub", "garbage.pub", "twin.pub"]);
    assertTrue(problems["twin.pub"].includes("duplicate of 'good'"));
    assertTrue(problems["dir.pub"].includes("not a regular file"));
  }));

Deno.test("trust store: revoking by key removes hand-made duplicates too", () =>
  withDir(async (dir) => {
    const key = await freshKey();
    await addTrusted(dir, {
      kind: "peer",
      publicKey: key,
      name: "one",
      nameIsExplicit: true,
      confirmReplace: never,
    });
    await Deno.writeTextFile(join(dir, "authorized_keys", "two.pub"), encodeBase64(key) + "\n");
    const removed = await removeTrusted(dir, "peer", encodeBase64(key));
    assertEquals(removed.map((entry) => entry.name), ["one", "two"]);
    assertEquals((await listTrusted(dir, "peer")).entries, []);
  }));

Deno.test("trust store: refusing a replacement changes nothing; renaming onto a taken name asks", () =>
  withDir(async (dir) => {
    const a = await freshKey();
    const b = await freshKey();
    const add = (
      publicKey: Uint8Array,
      name: string,
      confirm: (question: string) => Promise<boolean> = never,
    ) =>
      addTrusted(dir, {
        kind: "peer",
        publicKey,
        name,
        nameIsExplicit: true,
        confirmReplace: confirm,
      });
    await add(a, "alpha");
    await add(b, "beta");
    await assertRejects(() => add(b, "alpha"), TrustError, /nothing changed/);
    let asked = "";
    const outcome = await add(b, "alpha", (question) => {
      asked = question;
      return Promise.resolve(true);
    });
    assertTrue(asked.includes(encodeBase64(a)), asked);
    assertEquals(outcome, { action: "renamed", from: "beta", to: "alpha" });
    const listing = await listTrusted(dir, "peer");
    assertEquals(listing.entries.map((entry) => [entry.name, encodeBase64(entry.publicKey)]), [
      ["alpha", encodeBase64(b)],
    ]);
  }));

Deno.test("trust store: peers and orgs live apart", () =>
  withDir(async (dir) => {
    const key = await freshKey();
    for (const kind of ["peer", "org"] as const) {
      await addTrusted(dir, {
        kind,
        publicKey: key,
        name: "same",
        nameIsExplicit: true,
        confirmReplace: never,
      });
    }
    assertEquals((await listTrusted(dir, "peer")).entries.length, 1);
    assertEquals(
      (await listTrusted(dir, "org")).entries[0].path,
      join(dir, "trusted_orgs", "same.org"),
    );
    await removeTrusted(dir, "org", "same");
    assertEquals((await listTrusted(dir, "peer")).entries.length, 1);
    assertEquals((await listTrusted(dir, "org")).entries.length, 0);
  }));
