/**
 * The worker's SWIM gate against real membership traffic: every datagram a simulated cluster
 * sends while it forms (joins through one seed, full syncs), runs, loses and regains a member
 * passes the checks and its source's rate, so the gate costs legitimate members nothing.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { CONTROL_CELLS } from "../../lib/device/device_protocol.ts";
import {
  FORWARD_SWIM,
  swimForwardingDrops,
  swimHandled,
  WorkerForwarding,
} from "../../lib/device/worker_forwarding.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { Cluster } from "../swim/sim/cluster.ts";

Deno.test("worker forwarding: a 16-member cluster forming, running and healing never hits the SWIM gate", () => {
  const cluster = new Cluster({ n: 16, seed: 91 });
  const control = new Int32Array(
    new SharedArrayBuffer(CONTROL_CELLS * Int32Array.BYTES_PER_ELEMENT),
  );
  // One worker per receiving node, as each node's device has; the main threads keep up.
  const gates = new Map<string, WorkerForwarding>();
  let seen = 0;
  let kept = 0;
  cluster.net.tap = (from, to, data) => {
    let gate = gates.get(to);
    if (gate === undefined) {
      gates.set(to, gate = new WorkerForwarding({ control, forwardSwim: true }));
    }
    gate.startBatch();
    seen++;
    if (gate.decide(data, parseEndpoint(from), cluster.net.now) === FORWARD_SWIM) {
      swimHandled(control, 1);
    } else kept++;
  };
  cluster.start(0);
  // Everyone joins through node 0 within 300 ms: the seed answers 15 Hellos and full syncs.
  for (let i = 1; i < 16; i++) cluster.net.at(i * 20, () => cluster.start(i, [0]));
  cluster.run(30_000);
  assertTrue(cluster.converged(), "the cluster formed");
  cluster.crash(5);
  cluster.run(cluster.net.now + 20_000);
  cluster.restart(5, [0]);
  cluster.run(cluster.net.now + 30_000);
  assertTrue(seen > 3_000, `only ${seen} datagrams`);
  assertEquals(swimForwardingDrops(control), { malformed: 0, rateLimited: 0, queueFull: 0 });
  assertEquals(kept, 0);
});
