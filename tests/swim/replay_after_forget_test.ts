/**
 * Issue 11, finding 4 (second half): forgetting a departed member must not forget what it sent
 * us. Datagrams captured on the wire before it left are replayed, from the attacker's address,
 * after every node has forgotten it: none may authenticate, and it must not come back "alive"
 * at the attacker's address.
 */

import { keyId } from "../../lib/swim/records.ts";
import { check, convergedCluster } from "./helpers.ts";

/** A converged cluster that forgets a dead member within seconds, so the tests get there fast. */
function quicklyForgetting(n: number, seed: number) {
  return convergedCluster({ n, seed, config: { deadRetention: 2_000, reconnectTimeout: 3_000 } });
}

Deno.test("swim: datagrams captured before a member was forgotten are refused afterwards", () => {
  const seed = 1141;
  const cluster = quicklyForgetting(5, seed);
  const departed = 4;
  const from = cluster.nodes[departed].address;
  const to = cluster.nodes[0].address;
  const captured: Uint8Array[] = [];
  cluster.net.tap = (source, destination, data) => {
    if (source === from && destination === to) captured.push(data.slice());
  };
  cluster.run(cluster.net.now + 20_000);
  cluster.net.tap = null;
  check(captured.length >= 5, seed, `only ${captured.length} datagrams captured`);
  cluster.crash(departed);
  const key = cluster.nodes[departed].publicKey;
  const engine = cluster.nodes[0].engine!;
  const forgotten = cluster.runUntil(
    () => engine.member(key) === null,
    cluster.net.now + 120_000,
  );
  check(forgotten !== null, seed, "node 0 never removed the departed member");
  // Removed; forgotten once reconnectTimeout (3 s here) has passed as well.
  cluster.run(cluster.net.now + 5_000);

  const attacker = "203.0.113.66:51821";
  const replays = engine.stats.dropped["replay"] ?? 0;
  for (const data of captured) cluster.net.send(attacker, to, data);
  cluster.run(cluster.net.now + 5_000);
  check(
    (engine.stats.dropped["replay"] ?? 0) - replays === captured.length,
    seed,
    "a replayed datagram was not refused as a replay (it authenticated)",
  );
  const back = engine.member(key);
  check(back === null || back.state !== "alive", seed, "the departed member came back alive");
  check(
    !cluster.events.some((e) =>
      e.node === 0 && e.at >= (forgotten ?? 0) && "member" in e.event &&
      keyId(e.event.member.publicKey) === keyId(key)
    ),
    seed,
    "node 0 reported the departed member again",
  );
});

Deno.test("swim: a member forgotten and healed gets no counter twice under one key", () => {
  const seed = 1142;
  const cluster = quicklyForgetting(4, seed);
  const healed = 3;
  const from = cluster.nodes[0].address;
  const to = cluster.nodes[healed].address;
  const used = new Set<string>();
  let repeats = 0;
  let sent = 0;
  cluster.net.tap = (source, destination, data) => {
    if (source !== from || destination !== to || data[0] === 0x05) return;
    // Sender epoch, receiver epoch and counter: the session key is fixed by the two epochs.
    const view = new DataView(data.buffer, data.byteOffset);
    const id = `${view.getBigUint64(8, true)}/${view.getBigUint64(16, true)}/${
      view.getBigUint64(24, true)
    }`;
    if (used.has(id)) repeats++;
    used.add(id);
    sent++;
  };
  cluster.run(cluster.net.now + 10_000);
  const isolated = (a: string, b: string) => (a === to) !== (b === to);
  cluster.net.partition = isolated;
  const key = cluster.nodes[healed].publicKey;
  const removed = cluster.runUntil(
    () => cluster.nodes[0].engine!.member(key) === null,
    cluster.net.now + 120_000,
  );
  check(removed !== null, seed, "node 0 never removed the isolated member");
  // Removed; forgotten once reconnectTimeout (3 s here) has passed as well.
  cluster.run(cluster.net.now + 5_000);
  cluster.net.partition = null;
  const back = cluster.runUntil(() => cluster.converged(), cluster.net.now + 120_000);
  cluster.run(cluster.net.now + 10_000);
  cluster.net.tap = null;
  check(back !== null, seed, "the healed member did not rejoin");
  check(sent > 10, seed, `only ${sent} datagrams observed`);
  check(repeats === 0, seed, `${repeats} datagrams reused a counter under the same key`);
});
