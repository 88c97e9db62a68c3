/** The boot epoch file: strictly increasing across starts, whatever the clock does. */

import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  BOOT_EPOCH_FILE,
  nextBootEpoch,
  parseBootEpoch,
  takeBootEpoch,
} from "../../lib/daemon/boot_epoch.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("boot epoch: max(now, last + 1), persisted before use", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-epoch-" });
  try {
    assertEquals(await takeBootEpoch(dir, 5_000), 5_000);
    // The clock is stepped back: the epoch still grows.
    assertEquals(await takeBootEpoch(dir, 1_000), 5_001);
    assertEquals(await takeBootEpoch(dir, 1_000), 5_002);
    // The clock moves past it: the clock wins again.
    assertEquals(await takeBootEpoch(dir, 9_000.7), 9_000);
    assertEquals(await Deno.readTextFile(`${dir}/${BOOT_EPOCH_FILE}`), "9000\n");
    assertEquals((await Deno.stat(`${dir}/${BOOT_EPOCH_FILE}`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("boot epoch: a corrupt file is an error naming it, and is left as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-epoch-" });
  try {
    const path = `${dir}/${BOOT_EPOCH_FILE}`;
    for (const text of ["", "abc\n", "-5\n", "1e9\n", "99999999999999999\n", "12\n13\n"]) {
      await Deno.writeTextFile(path, text);
      await assertRejects(() => takeBootEpoch(dir, 1_000), ConfigError, /boot\.epoch is corrupt/);
      assertEquals(await Deno.readTextFile(path), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("boot epoch: pure rule and parser", () => {
  assertEquals(nextBootEpoch(null, 0), 1);
  assertEquals(nextBootEpoch(10, 3), 11);
  assertEquals(parseBootEpoch("42\n"), 42);
  assertEquals(parseBootEpoch("0\n"), null);
  assertThrows(() => nextBootEpoch(Number.MAX_SAFE_INTEGER, 0), ConfigError);
});
