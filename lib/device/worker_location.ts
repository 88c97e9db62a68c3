/**
 * Where the data-plane worker's module is. From source (and from a `deno compile` of the source,
 * which keeps module paths) it is `device_worker.ts` beside this file. In the single-file program
 * `deno task bundle` writes, every module shares the bundle's `import.meta.url`, so the worker is
 * the separately bundled `device_worker.js` beside it (packaging/build.ts writes both).
 */

const SOURCE_FILE = "/lib/device/worker_location.ts";

/** The worker module's URL, given the URL this code runs under (default: this module's). */
export function deviceWorkerUrl(moduleUrl: string = import.meta.url): URL {
  const here = new URL(moduleUrl);
  if (here.pathname.endsWith(SOURCE_FILE)) return new URL("./device_worker.ts", here);
  return new URL("./device_worker.js", here);
}
