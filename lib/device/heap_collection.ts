/**
 * A full garbage collection of this thread's V8 heap, for the idle release: V8 otherwise keeps
 * the garbage of start-up and of a busy spell until its heap reaches the next limit, which an
 * idle daemon takes long to reach. Deno has no GC call, so the flag that makes one is set at run
 * time and `gc` is called in a throwaway context (keeping its function would keep a context,
 * ~170 KiB of heap, alive for good).
 */

import v8 from "node:v8";
import vm from "node:vm";

let exposed: boolean | undefined;

/**
 * Runs a full GC of the calling thread's isolate; false when the runtime refuses, and from then
 * on without asking again (each try made a new context).
 */
export function collectGarbage(): boolean {
  if (exposed === false) return false;
  try {
    if (exposed === undefined) v8.setFlagsFromString("--expose-gc");
    exposed = vm.runInNewContext("typeof gc === 'function' && (gc(), true)") === true;
  } catch {
    exposed = false;
  }
  return exposed;
}
