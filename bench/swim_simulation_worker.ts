/// <reference lib="deno.worker" />

/**
 * The worker thread of `deno task bench:swim`: runs the plans it is posted, in order, and posts
 * back their result lines (bench/swim_simulation.ts runs the largest N on one such thread and the
 * others on a second, so the two cores of the bench machine both simulate).
 */

import { measure, type SwimPlan } from "./swim_simulation.ts";

self.onmessage = async (event: MessageEvent<SwimPlan[]>) => {
  const lines: string[] = [];
  for (const plan of event.data) lines.push(await measure(plan.n, 42, plan.lossMs, plan.skipped));
  self.postMessage(lines);
};
