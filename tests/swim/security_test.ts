/**
 * The security properties of the membership layer, each against the real crypto: forged
 * "dead" claims do not evict, replays and unsigned/tampered data change nothing, outsiders
 * cannot grow any table, and an empty trust set admits nobody.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { ItemKind, MessageType } from "../../lib/swim/constants.ts";
import { SwimEngine, trustKeys } from "../../lib/swim/engine.ts";
import { writeHeader } from "../../lib/swim/header.ts";
import { decodeHelloCookie, encodeHello } from "../../lib/swim/hello.ts";
import { keyId, makeAliveRecord, makeClaim, NatType } from "../../lib/swim/records.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { check, convergedCluster } from "./helpers.ts";
import { Hostile } from "./sim/hostile.ts";
import { mulberry32, randomBytes } from "./sim/prng.ts";

function identity(random: () => number) {
  const seed = randomBytes(random, 32);
  const publicKey = ed25519.getPublicKey(seed);
  return { seed, publicKey, crypto: createSwimCrypto(seed, publicKey) };
}

Deno.test("swim: forged suspect/dead claims from a trusted insider never evict a live member", () => {
  const seed = 21;
  const cluster = convergedCluster({ n: 10, seed });
  const insider = identity(mulberry32(seed + 1));
  cluster.extraTrusted.add(keyId(insider.publicKey));
  const hostile = new Hostile(cluster, insider.crypto);
  const victim = 4;
  const end = cluster.net.now + 60_000;
  while (cluster.net.now < end) {
    // The insider always accuses the victim's *current* version, as a real attacker would.
    const view = cluster.nodes[victim].engine!;
    for (const i of cluster.running()) {
      if (i === victim) continue;
      const items = [ItemKind.Suspect, ItemKind.Dead].map((kind) =>
        makeClaim(
          insider.crypto,
          kind as 3 | 4,
          cluster.nodes[victim].publicKey,
          view.epoch,
          view.incarnation,
        )
          .bytes
      );
      hostile.gossip(i, items);
    }
    cluster.run(cluster.net.now + 1_000);
  }
  const evicted = cluster.events.filter((e) =>
    (e.event.type === "dead" || e.event.type === "suspect") &&
    cluster.indexOfKey(e.event.member.publicKey) === victim
  );
  check(evicted.length === 0, seed, `victim was suspected/declared dead ${evicted.length} times`);
  for (const i of cluster.running()) {
    if (i !== victim) check(cluster.sees(i, victim), seed, `node ${i} no longer sees the victim`);
  }
  check(cluster.nodes[victim].engine!.incarnation > 0, seed, "victim never refuted");
});

Deno.test("swim: claims with a forged claimer signature are dropped before any state change", () => {
  const seed = 22;
  const cluster = convergedCluster({ n: 6, seed });
  const insider = identity(mulberry32(seed + 1));
  cluster.extraTrusted.add(keyId(insider.publicKey));
  const hostile = new Hostile(cluster, insider.crypto);
  const engine = cluster.nodes[0].engine!;
  // Its address is proven first (node 0's verification ping acked): traffic below is the claim's.
  hostile.answerPings = true;
  hostile.gossip(0, []);
  cluster.run(cluster.net.now + 200);
  // The insider signs, but names node 3 as the claimer: the signature cannot match.
  const claim = makeClaim(insider.crypto, ItemKind.Dead, cluster.nodes[2].publicKey, 1, 0).bytes;
  const forged = claim.slice();
  forged.set(cluster.nodes[3].publicKey, 3 + 32 + 12);
  const before = engine.stats.dropped["bad-signature"] ?? 0;
  const view = engine.member(cluster.nodes[2].publicKey)!;
  const real = makeClaim(
    insider.crypto,
    ItemKind.Dead,
    cluster.nodes[2].publicKey,
    view.epoch,
    view.incarnation,
  ).bytes;
  const tampered = real.slice();
  tampered.set(cluster.nodes[3].publicKey, 3 + 32 + 12);
  engine.receive(
    hostile.address,
    hostile.datagram(0, MessageType.Gossip, [forged, tampered]),
    cluster.net.now,
  );
  check(
    (engine.stats.dropped["bad-signature"] ?? 0) === before + 1,
    seed,
    "tampered claim not dropped as bad signature",
  );
  check(engine.drainOutgoing().length === 0, seed, "a forged claim triggered traffic");
});

Deno.test("swim: tampered and foreign records are ignored (unsigned data changes nothing)", () => {
  const seed = 23;
  const cluster = convergedCluster({ n: 6, seed });
  const insider = identity(mulberry32(seed + 1));
  cluster.extraTrusted.add(keyId(insider.publicKey));
  const hostile = new Hostile(cluster, insider.crypto);
  const engine = cluster.nodes[0].engine!;
  const subject = cluster.nodes[2];
  const view = engine.member(subject.publicKey)!;
  // A record of node 2 with a higher incarnation but signed by the insider (endpoint hijack).
  const hijack = makeAliveRecord(insider.crypto, view.epoch, view.incarnation + 5, NatType.Public, [
    "203.0.113.9:4444",
  ]).bytes;
  hijack.set(subject.publicKey, 3);
  // A record about a key nobody trusts, correctly self-signed.
  const stranger = identity(mulberry32(seed + 2));
  const foreign =
    makeAliveRecord(stranger.crypto, 5, 0, NatType.Public, ["198.51.100.1:51821"]).bytes;
  const members = engine.members().length;
  engine.receive(
    hostile.address,
    hostile.datagram(0, MessageType.Gossip, [hijack, foreign]),
    cluster.net.now,
  );
  const after = engine.member(subject.publicKey)!;
  check(after.incarnation === view.incarnation, seed, "tampered record was applied");
  check(after.endpoints.join() === view.endpoints.join(), seed, "endpoint was hijacked");
  check(engine.members().length === members, seed, "an untrusted subject was admitted");
  check(engine.member(stranger.publicKey) === null, seed, "stranger listed");
  // Bytes that merely look like a datagram from a trusted key fail authentication.
  const fake = hostile.datagram(0, MessageType.Gossip, []);
  fake[fake.length - 1] ^= 1;
  const auth = engine.stats.dropped.auth ?? 0;
  engine.receive(hostile.address, fake, cluster.net.now);
  check((engine.stats.dropped.auth ?? 0) === auth + 1, seed, "bad tag accepted");
});

Deno.test("swim: replayed datagrams are ignored, before and after the receiver restarts", () => {
  const seed = 24;
  const cluster = convergedCluster({ n: 8, seed });
  const target = cluster.nodes[1];
  const captured: { from: string; data: Uint8Array }[] = [];
  cluster.net.tap = (from, to, data) => {
    if (to === target.address) captured.push({ from, data });
  };
  // 10 s: the cluster converges within a second now, so 5 s of an idle 8-node cluster is thin.
  cluster.run(cluster.net.now + 10_000);
  cluster.net.tap = null;
  cluster.run(cluster.net.now + 2_000);
  check(captured.length > 10, seed, "nothing captured");
  const engine = target.engine!;
  engine.drainOutgoing();
  const accepted = engine.stats.accepted;
  for (const { from, data } of captured) engine.receive(from, data, cluster.net.now);
  check(engine.stats.accepted === accepted, seed, "a replayed datagram was accepted");
  check(engine.drainOutgoing().length === 0, seed, "a replayed datagram was answered");
  cluster.flush(1);
  // After a restart the old session keys are gone with the old epoch.
  cluster.restart(1, [0]);
  const fresh = cluster.nodes[1].engine!;
  fresh.drainOutgoing();
  for (const { from, data } of captured) fresh.receive(from, data, cluster.net.now);
  check(fresh.stats.accepted === 0, seed, "a replay was accepted after restart");
  check(fresh.members().length === 0, seed, "a replay changed the restarted node's table");
});

Deno.test("swim: a replayed Hello is ignored", () => {
  const seed = 25;
  const cluster = convergedCluster({ n: 3, seed });
  const seedEngine = cluster.nodes[0].engine!;
  const node = cluster.nodes[2];
  const record = makeAliveRecord(
    node.crypto,
    node.engine!.epoch,
    node.engine!.incarnation,
    NatType.Public,
    [node.address],
  );
  // The first Hello fetches the seed's cookie; the second, carrying it, is accepted.
  const first = encodeHello(node.crypto, node.engine!.epoch, 998, record);
  seedEngine.receive(node.address, first, cluster.net.now);
  const [answer] = seedEngine.drainOutgoing();
  const { cookie } = decodeHelloCookie(answer.data);
  const hello = encodeHello(
    node.crypto,
    node.engine!.epoch,
    999,
    record,
    cluster.nodes[0].publicKey,
    cookie,
  );
  const before = seedEngine.stats.accepted;
  seedEngine.receive(node.address, hello, cluster.net.now);
  const accepted = seedEngine.stats.accepted;
  check(accepted === before + 1, seed, "the cookie-bearing Hello was not accepted");
  seedEngine.drainOutgoing();
  seedEngine.receive(node.address, hello, cluster.net.now + 10);
  check(seedEngine.stats.accepted === accepted, seed, "replayed Hello accepted");
  check(seedEngine.drainOutgoing().length === 0, seed, "replayed Hello answered");
});

Deno.test("swim: a flood from untrusted keys leaves every table bounded and unchanged", () => {
  const seed = 26;
  const cluster = convergedCluster({ n: 6, seed });
  const random = mulberry32(seed);
  const engine = cluster.nodes[0].engine!;
  cluster.run(cluster.net.now + 20_000);
  const before = engine.tableSizes();
  const outsider = identity(random);
  const record = makeAliveRecord(outsider.crypto, 7, 0, NatType.Public, ["198.51.100.7:51821"]);
  const trustedKey = cluster.nodes[3].publicKey;
  const count = 20_000;
  for (let i = 0; i < count; i++) {
    let data: Uint8Array;
    switch (i % 4) {
      case 0: // random bytes
        data = randomBytes(random, 1 + Math.floor(random() * 1200));
        break;
      case 1: // a Hello signed by an untrusted key
        data = encodeHello(outsider.crypto, 7, i, record);
        break;
      case 2: { // a well-formed header from a fresh random key each time
        data = encodeHello(outsider.crypto, 7, i, record);
        data[0] = MessageType.Ping;
        data.set(randomBytes(random, 32), 32);
        break;
      }
      default: { // spoofing a trusted sender key without its keys
        data = encodeHello(outsider.crypto, 7, i, record);
        data[0] = 1 + (i % 8);
        data.set(trustedKey, 32);
        break;
      }
    }
    engine.receive(`203.0.113.${i % 250}:${1000 + (i % 60000)}`, data, cluster.net.now);
  }
  const after = engine.tableSizes();
  // sessions: a datagram that does not authenticate opens no session slot (SessionTable).
  for (const name of ["known", "members", "relays", "probes", "queue", "sessions"]) {
    check(
      after[name] <= before[name],
      seed,
      `table ${name} grew from ${before[name]} to ${after[name]}`,
    );
  }
  check(after.known <= cluster.nodes.length, seed, "member table exceeds the trust set");

  // The cluster keeps working.
  cluster.flush(0);
  cluster.run(cluster.net.now + 10_000);
  check(cluster.converged(), seed, "cluster broke after the flood");
});

Deno.test("swim: with an empty trust set nobody is admitted (closed by default)", () => {
  const random = mulberry32(27);
  const a = identity(random);
  const b = identity(random);
  const lonely = new SwimEngine({
    crypto: a.crypto,
    trust: trustKeys([]),
    epoch: 1,
    endpoints: ["192.0.2.1:51821"],
  });
  lonely.start(0);
  const hello = encodeHello(
    b.crypto,
    5,
    1,
    makeAliveRecord(b.crypto, 5, 0, NatType.Public, ["192.0.2.2:51821"]),
  );
  lonely.receive("192.0.2.2:51821", hello, 1);
  check(lonely.members().length === 0, 27, "an untrusted node was admitted");
  check(lonely.stats.dropped.untrusted === 1, 27, "Hello not dropped as untrusted");
  check(lonely.drainOutgoing().length === 0, 27, "answered an untrusted Hello");
});

Deno.test("swim: with every key admitted (--open), forged senders take no member-table row", () => {
  // Found by the fuzz suite: a forged datagram or Hello from a fresh key got a row before it
  // authenticated, so with --open ~65,536 forged packets filled the table and real joiners
  // were refused ("member-table-full").
  const random = mulberry32(28);
  const self = identity(random);
  const joiner = identity(random);
  const engine = new SwimEngine({
    crypto: self.crypto,
    trust: { isTrusted: () => true },
    epoch: 1,
    endpoints: ["192.0.2.1:51821"],
    config: { helloRatePerSecond: 1e6 },
  });
  engine.start(0);
  for (let i = 0; i < 300; i++) {
    // A well-formed header naming our epoch, from a fresh key, with a body that cannot open.
    const data = new Uint8Array(64 + 40);
    writeHeader(data, MessageType.Ping, 5, engine.epoch, i, randomBytes(random, 32));
    data.set(randomBytes(random, 40), 64);
    engine.receive(`203.0.113.${i % 250}:4000`, data, 1);
    // A Hello from a fresh key whose signature does not match.
    const forger = identity(random);
    const record = makeAliveRecord(forger.crypto, 5, 0, NatType.Public, ["203.0.113.5:1"]);
    const hello = encodeHello(forger.crypto, 5, 1, record);
    hello[hello.length - 1] ^= 1;
    engine.receive(`203.0.113.${i % 250}:4001`, hello, 1);
  }
  // The Hellos carry no cookie: each is answered by a HelloCookie and kept nowhere.
  const { auth = 0, "bad-key": badKey = 0, "hello-cookie": cookie = 0 } = engine.stats.dropped;
  check(
    auth + badKey === 300 && cookie === 300,
    28,
    `dropped ${JSON.stringify(engine.stats.dropped)}`,
  );
  check(engine.tableSizes().known === 0, 28, `${engine.tableSizes().known} forged members kept`);
  // A genuine joiner still gets in (its first Hello fetches the cookie, the second joins).
  const record = makeAliveRecord(joiner.crypto, 5, 0, NatType.Public, ["192.0.2.2:51821"]);
  engine.drainOutgoing();
  engine.receive("192.0.2.2:51821", encodeHello(joiner.crypto, 5, 1, record), 2);
  const { cookie: answer } = decodeHelloCookie(engine.drainOutgoing()[0].data);
  engine.receive(
    "192.0.2.2:51821",
    encodeHello(joiner.crypto, 5, 2, record, self.publicKey, answer),
    2,
  );
  check(engine.members().length === 1, 28, "a genuine Hello did not join");
  check(engine.tableSizes().known === 1, 28, "the genuine joiner has no row");
});
