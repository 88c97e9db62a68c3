/**
 * The idle memory release against the real kernel (no namespace needed; in this suite for its
 * --allow-ffi): the executable's resident image pages leave this process's RSS, and the process
 * keeps running on what faults back in.
 */

import { assertTrue } from "../assert.ts";
import { readProcFile, releaseIdleMemory } from "../../ffi/memory_release.ts";

function residentFileKiB(): number {
  return Number(/^RssFile:\s+(\d+) kB$/m.exec(readProcFile("/proc/self/status"))![1]);
}

Deno.test("memory release: the executable's resident pages leave the RSS, and the process runs on", () => {
  const before = residentFileKiB();
  const { imageBytes } = releaseIdleMemory();
  const after = residentFileKiB();
  // A Deno test runner has 20+ MiB of its binary resident; the release must find most of it.
  assertTrue(imageBytes > 8 * 1048576, `dropped ${imageBytes} bytes of the image`);
  // What the status read itself faults back in is a few MiB, not the whole image.
  assertTrue(before - after > imageBytes / 1024 / 2, `RssFile ${before} → ${after} KiB`);
  // Code paths dropped above still run.
  assertTrue(JSON.parse(JSON.stringify({ a: [1, 2] })).a[1] === 2);
});
