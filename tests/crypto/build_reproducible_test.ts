/**
 * The committed .wasm files must be exactly what the sources compile to, so nobody ships a
 * module that differs from the reviewed code. Rebuilds in-process (no files written).
 */

import assert from "node:assert/strict";
import { CORE_VARIANTS, staleVariants } from "../../wasm/build.ts";

Deno.test("committed wasm/build modules equal a fresh AssemblyScript build of wasm/src", async () => {
  const stale = await staleVariants();
  assert.deepEqual(
    stale,
    [],
    `stale module(s): ${stale.join(", ")} of ${
      CORE_VARIANTS.join(", ")
    }; run deno task build:wasm and commit wasm/build`,
  );
});
