/**
 * Received datagrams are the caller's buffers: items are decoded as views into them, so the
 * engine must copy whatever it keeps (records, queued updates). These runs overwrite every
 * datagram as soon as `receive` returns, as a daemon reusing its receive buffer would.
 */

import { assertTrue as assert } from "../assert.ts";
import { Cluster } from "./sim/cluster.ts";

for (const crypto of ["fast", "real"] as const) {
  Deno.test(`swim: datagrams overwritten after receive() change nothing kept (${crypto} crypto)`, () => {
    const seed = 7;
    const n = 8;
    const cluster = new Cluster({ n, seed, crypto });
    const startScribbling = (index: number) => {
      cluster.start(index, index === 0 ? [] : [0]);
      const engine = cluster.nodes[index].engine!;
      const receive = engine.receive.bind(engine);
      engine.receive = (from, data, now) => {
        receive(from, data, now);
        data.fill(0xa5);
      };
    };
    startScribbling(0);
    for (let i = 1; i < n; i++) cluster.net.at(i * 20, () => startScribbling(i));
    cluster.run(n * 20 + 1);
    const at = cluster.runUntil(() => cluster.converged(), 60_000);
    assert(at !== null, `seed ${seed}: not converged after 60 s`);
    // Records learned from a Hello or gossip were forwarded on (sync pages, piggybacking):
    // had one pinned its datagram, the overwritten bytes would fail every signature check.
    for (let i = 0; i < n; i++) {
      const dropped = cluster.nodes[i].engine!.stats.dropped;
      assert(
        dropped["bad-signature"] === undefined,
        `node ${i} dropped ${JSON.stringify(dropped)}`,
      );
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const endpoints = cluster.member(i, j)?.endpoints ?? [];
        assert(
          endpoints.length === 1 && endpoints[0] === cluster.nodes[j].address,
          `node ${i} holds ${JSON.stringify(endpoints)} for node ${j}`,
        );
      }
    }
  });
}
