import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { writeFileAtomic } from "../../lib/config/atomic_write.ts";

Deno.test("atomic write: exact mode despite the umask, replaces in place, no temporaries left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-atomic-" });
  try {
    const path = join(dir, "secret");
    await writeFileAtomic(path, "first\n", 0o600);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]), 0o644);
    assertEquals(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o644);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names, ["secret"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic write: a failed write leaves the old file and no temporary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-atomic-" });
  try {
    const path = join(dir, "target");
    await writeFileAtomic(path, "old\n", 0o600);
    // Renaming a file over a non-empty directory fails after the data was written.
    const blocked = join(dir, "blocked");
    await Deno.mkdir(join(blocked, "inside"), { recursive: true });
    let failed = false;
    try {
      await writeFileAtomic(blocked, "new\n", 0o600);
    } catch {
      failed = true;
    }
    assertEquals(failed, true);
    assertEquals(await Deno.readTextFile(path), "old\n");
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names.sort(), ["blocked", "target"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
