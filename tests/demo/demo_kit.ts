/**
 * What the root demos share (mesh_demo.ts, nat_demo.ts): time-stamped progress lines, and a
 * clean-up that runs once, whatever calls it first (the end, a failure, Ctrl-C or SIGTERM).
 */

/** `say(line)`: prints `+1.2s  line`, the time since the demo started. */
export function demoClock(): (line: string) => void {
  const started = performance.now();
  return (line) => {
    const stamp = `+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(7);
    console.log(`${stamp}  ${line}`);
  };
}

/**
 * Wraps `cleanUp` so it runs once, and runs it on SIGINT/SIGTERM before exiting with 130.
 * `cleaning()` says whether it has started (an interrupted step then fails for that reason).
 */
export function cleanUpOnce(
  cleanUp: () => Promise<void>,
): { cleanUp: () => Promise<void>; cleaning: () => boolean } {
  let running: Promise<void> | null = null;
  const once = () => (running ??= cleanUp());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      console.log(`\n${signal}: stopping`);
      await once();
      Deno.exit(130);
    });
  }
  return { cleanUp: once, cleaning: () => running !== null };
}
