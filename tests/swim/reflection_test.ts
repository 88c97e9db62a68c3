/**
 * Security invariant 9 (no reflection, no amplification): an authenticated insider cannot aim
 * a member's SWIM or WireGuard traffic at a bystander, neither by spoofing its source nor by
 * advertising the bystander as its endpoint, and cannot make a member page without limit.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { MeshPeers } from "../../lib/daemon/mesh_peers.ts";
import { uapiText } from "../peer_change_text.ts";
import { MessageType } from "../../lib/swim/constants.ts";
import { makeAliveRecord, NatType } from "../../lib/swim/records.ts";
import { SYNC_PAGE_BURST, SYNC_PAGES_PER_SECOND } from "../../lib/swim/push_pull.ts";
import { keyId } from "../../lib/swim/records.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { check, convergedCluster } from "./helpers.ts";
import type { Cluster } from "./sim/cluster.ts";
import { Hostile } from "./sim/hostile.ts";
import { mulberry32, randomBytes } from "./sim/prng.ts";

/** A bystander the insider names: never a member, never answers. */
const VICTIM = "198.51.100.7:51821";

/** A bare encrypted datagram (no items): header 64 + body 6 + tag 16. */
const BARE_BYTES = 86;

function insider(cluster: Cluster, seed: number): Hostile {
  const random = mulberry32(seed + 1);
  const secret = randomBytes(random, 32);
  const publicKey = ed25519.getPublicKey(secret);
  cluster.extraTrusted.add(keyId(publicKey));
  return new Hostile(cluster, createSwimCrypto(secret, publicKey));
}

/** Records every datagram that reaches `address`. */
function listen(cluster: Cluster, address: string): Uint8Array[] {
  const got: Uint8Array[] = [];
  cluster.net.bind(address, (_from, data) => got.push(data));
  return got;
}

Deno.test("swim: sync requests with a spoofed source get nothing larger than themselves back", () => {
  const seed = 91;
  const cluster = convergedCluster({ n: 12, seed });
  const hostile = insider(cluster, seed);
  const atVictim = listen(cluster, VICTIM);
  let sent = 0;
  let largest = 0;
  // 40 requests a second for 10 s, each claiming to come from the victim.
  for (let i = 0; i < 400; i++) {
    cluster.net.at(cluster.net.now + i * 25, () => {
      const data = hostile.datagram(0, MessageType.SyncRequest, [], i);
      sent += data.length;
      largest = Math.max(largest, data.length);
      hostile.raw(0, data, VICTIM);
    });
  }
  cluster.run(cluster.net.now + 10_500);
  const received = atVictim.reduce((sum, data) => sum + data.length, 0);
  const biggest = Math.max(0, ...atVictim.map((data) => data.length));
  console.log(
    `spoofed sync: ${sent} bytes sent as the victim, ${received} bytes (${atVictim.length} datagrams) reached it`,
  );
  check(biggest <= largest, seed, `a ${biggest}-byte reply to ${largest}-byte requests`);
  check(received <= sent, seed, `amplified ${(received / sent).toFixed(1)}×`);
  // What does reach it is verification pings, one per probe interval at most.
  check(atVictim.every((data) => data[0] === MessageType.Ping), seed, "non-ping to the victim");
  check(atVictim.length <= 11, seed, `${atVictim.length} pings in 10 s`);
  check(
    (cluster.nodes[0].engine!.stats.dropped["sync-unverified"] ?? 0) >= 400,
    seed,
    "requests not refused as unverified",
  );
});

Deno.test("swim: a proven member's sync flood is rate-limited per member", () => {
  const seed = 92;
  const cluster = convergedCluster({ n: 12, seed });
  const hostile = insider(cluster, seed);
  hostile.answerPings = true;
  // One request proves the address (node 0 pings it, the insider acks) and is then answered.
  hostile.raw(0, hostile.datagram(0, MessageType.SyncRequest, [], 0));
  cluster.run(cluster.net.now + 500);
  const pages = () => hostile.received.filter((data) => data[0] === MessageType.SyncResponse);
  check(pages().length === 1, seed, `${pages().length} pages after verification (want 1)`);
  // Then 5,000 requests within one second from its own, proven, address.
  const start = cluster.net.now;
  for (let i = 0; i < 5_000; i++) {
    cluster.net.at(start + i / 5, () => {
      hostile.raw(0, hostile.datagram(0, MessageType.SyncRequest, [], i));
    });
  }
  cluster.run(start + 1_100);
  const answered = pages().length - 1;
  const allowed = SYNC_PAGE_BURST + Math.ceil(SYNC_PAGES_PER_SECOND * 1.1);
  console.log(`sync flood: 5000 requests in 1 s, ${answered} pages sent (≤ ${allowed} allowed)`);
  check(answered >= SYNC_PAGE_BURST, seed, `only ${answered} pages: the burst is not honoured`);
  check(answered <= allowed, seed, `${answered} pages for 5,000 requests: no rate limit`);
  check(
    (cluster.nodes[0].engine!.stats.dropped["sync-rate"] ?? 0) >= 5_000 - allowed,
    seed,
    "flood not counted as rate-limited",
  );
});

Deno.test("swim: an advertised bystander endpoint gets only bare pings, never WireGuard config", () => {
  const seed = 93;
  const cluster = convergedCluster({ n: 12, seed });
  const hostile = insider(cluster, seed);
  const atVictim = listen(cluster, VICTIM);
  // The daemon's view on node 0: every event goes through the real peer table.
  const daemon = new MeshPeers(cluster.nodes[0].publicKey, false);
  daemon.setTrusted([{ name: "insider", publicKey: hostile.crypto.publicKey }]);
  let uapi = "";
  cluster.onEvent = ({ node, event }) => {
    if (node !== 0 || !("member" in event)) return;
    uapi += uapiText(daemon.onMember(event.member, event.type === "removed"));
  };
  cluster.run(cluster.net.now + 1);
  // A correctly self-signed record whose only endpoint is the victim, gossiped to everyone.
  const record = makeAliveRecord(hostile.crypto, hostile.epoch, 0, NatType.Public, [VICTIM]);
  // Told to one member only, so the others learn it by gossip and take the advertised address.
  hostile.gossip(1, [record.bytes]);
  cluster.run(cluster.net.now + 30_000);
  const joined = cluster.events.filter((e) =>
    e.event.type === "joined" && keyId(e.event.member.publicKey) === keyId(record.subject)
  );
  check(joined.length === cluster.running().length, seed, "the insider's record did not spread");
  check(cluster.member(0, 1) !== null, seed, "node 0 lost node 1");
  const biggest = Math.max(0, ...atVictim.map((data) => data.length));
  console.log(
    `advertised victim: ${atVictim.length} datagrams, ${
      atVictim.reduce((sum, data) => sum + data.length, 0)
    } bytes from 12 nodes in 30 s, largest ${biggest}`,
  );
  check(biggest <= BARE_BYTES, seed, `a ${biggest}-byte datagram reached the victim`);
  check(atVictim.every((data) => data[0] === MessageType.Ping), seed, "non-ping to the victim");
  for (const i of cluster.running()) {
    const view = cluster.nodes[i].engine!.member(hostile.crypto.publicKey);
    check(view?.verified !== VICTIM, seed, `node ${i} takes the victim as proven`);
  }
  check(!uapi.includes(`endpoint=${VICTIM}`), seed, "the victim became a WireGuard endpoint");
  check(uapi.includes("public_key="), seed, "the daemon never saw the insider");
});

Deno.test("swim: addresses verify within a round trip and joiners page through a lossy seed", () => {
  const seed = 94;
  const cluster = convergedCluster({ n: 8, seed });
  // Within a probe round every member's real address is proven on every node.
  const verifiedAll = () =>
    cluster.running().every((i) =>
      cluster.running().every((j) =>
        i === j || cluster.member(i, j)?.verified === cluster.nodes[j].address
      )
    );
  const converged = cluster.net.now;
  const proven = cluster.runUntil(verifiedAll, converged + 8_000);
  check(proven !== null, seed, "some member address still unverified after a probe round");
  console.log(`all addresses verified ${proven! - converged} ms after convergence`);
  // A joiner whose first two sync pages are lost still gets the whole table from the seed.
  const joiner = 23;
  const big = convergedCluster({ n: 24, seed: seed + 1 });
  big.crash(joiner);
  big.run(big.net.now + 60_000);
  let dropped = 0;
  const joinerAddress = big.nodes[joiner].address;
  let dropNext = false;
  big.net.tap = (_from, to, data) => {
    dropNext = to === joinerAddress && data[0] === MessageType.SyncResponse && dropped < 2;
    if (dropNext) dropped++;
  };
  big.net.partition = () => dropNext;
  // Only the seed (node 0) is contacted; membership must come from paging through it.
  const start = big.net.now;
  big.restart(joiner, [0]);
  const at = big.runUntil(
    () => big.nodes[joiner].engine!.members("alive").length === 23,
    start + 2_000,
    10,
  );
  check(at !== null, seed, "the joiner did not get the whole table within 2 s of lost pages");
  check(dropped === 2, seed, `dropped ${dropped} pages`);
  console.log(`joiner with 2 lost pages saw all members after ${at! - start} ms`);
});
