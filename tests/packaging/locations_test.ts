/** Where the worker module and the wasm core are looked for: source tree versus bundle. */

import { assertEquals } from "../assert.ts";
import { deviceWorkerUrl } from "../../lib/device/worker_location.ts";
import { coreModuleUrl } from "../../lib/crypto/core_module.ts";

Deno.test("locations: from source, the worker and the wasm are in the repository", () => {
  const repo = new URL("../../", import.meta.url).href;
  assertEquals(deviceWorkerUrl().href, `${repo}lib/device/device_worker.ts`);
  assertEquals(coreModuleUrl("simd").href, `${repo}wasm/build/meshguard_core_simd.wasm`);
  // A `deno compile` keeps the module paths under its own root.
  assertEquals(
    deviceWorkerUrl("file:///tmp/deno-compile-meshguard/lib/device/worker_location.ts").href,
    "file:///tmp/deno-compile-meshguard/lib/device/device_worker.ts",
  );
  assertEquals(
    coreModuleUrl("scalar", "file:///tmp/deno-compile-meshguard/lib/crypto/core_module.ts").href,
    "file:///tmp/deno-compile-meshguard/wasm/build/meshguard_core_scalar.wasm",
  );
});

Deno.test("locations: in a bundle, both sit beside the bundle file", () => {
  const bundle = "file:///opt/meshguard/meshguard.js";
  assertEquals(deviceWorkerUrl(bundle).href, "file:///opt/meshguard/device_worker.js");
  assertEquals(
    coreModuleUrl("simd", bundle).href,
    "file:///opt/meshguard/meshguard_core_simd.wasm",
  );
  // The worker bundle loads the wasm itself, from the same directory.
  assertEquals(
    coreModuleUrl("scalar", "file:///opt/meshguard/device_worker.js").href,
    "file:///opt/meshguard/meshguard_core_scalar.wasm",
  );
});
