/**
 * Issue 11, findings 2 and 4 (Hello): a flood of junk Hellos naming a trusted key cannot keep
 * a genuine joiner out, and a captured Hello can neither be replayed to another member nor
 * from a previous run to move the joiner's address.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { encodeHello } from "../../lib/swim/hello.ts";
import { makeAliveRecord, NatType } from "../../lib/swim/records.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { check, convergedCluster } from "./helpers.ts";
import { mulberry32, randomBytes } from "./sim/prng.ts";

function insider(seed: number) {
  const secret = randomBytes(mulberry32(seed), 32);
  const publicKey = ed25519.getPublicKey(secret);
  return { publicKey, crypto: createSwimCrypto(secret, publicKey) };
}

/** An epoch newer than any the cluster uses, so junk passes the stale-epoch check. */
const JUNK_EPOCH = 1e12;

/** A Hello that passes every shape check and names `victimKey`, but is signed by `signer`. */
function junkHello(
  signer: ReturnType<typeof insider>,
  victimKey: Uint8Array,
  counter: number,
  receiver?: Uint8Array,
  cookie?: Uint8Array,
) {
  const record = makeAliveRecord(signer.crypto, JUNK_EPOCH, 0, NatType.Public, [
    "198.51.100.9:51821",
  ]);
  record.bytes.set(victimKey, 3);
  const data = encodeHello(signer.crypto, JUNK_EPOCH, counter, record, receiver, cookie);
  data.set(victimKey, 32);
  return data;
}

Deno.test("swim: 5,000 junk Hellos a second naming a trusted key do not keep a joiner out", () => {
  const seed = 1121;
  const cluster = convergedCluster({ n: 4, seed });
  const attacker = insider(seed + 1);
  const seedNode = 0;
  const seedEngine = cluster.nodes[seedNode].engine!;
  // The key the junk names: a member's, as seen in any SWIM header on the path.
  const named = cluster.nodes[2].publicKey;
  let counter = 0;
  const stopAt = cluster.net.now + 30_000;
  const flood = () => {
    if (cluster.net.now >= stopAt) return;
    for (let i = 0; i < 50; i++) {
      counter++;
      const from = `203.0.113.${counter % 250}:${1024 + (counter % 50_000)}`;
      seedEngine.receive(from, junkHello(attacker, named, counter), cluster.net.now);
    }
    cluster.flush(seedNode);
    cluster.net.at(cluster.net.now + 10, flood);
  };
  flood();
  cluster.run(cluster.net.now + 2_000);
  // A genuine node joins through the flooded seed: it restarts with a new epoch and must be
  // let back in while the flood goes on.
  const joiner = 3;
  cluster.restart(joiner, [seedNode]);
  const joined = cluster.runUntil(
    () => cluster.sees(seedNode, joiner) && cluster.sees(joiner, seedNode),
    cluster.net.now + 20_000,
  );
  check(counter >= 5_000 * 2, seed, `the flood sent only ${counter} Hellos`);
  check(joined !== null, seed, "the joiner was kept out by the flood");
  const dropped = seedEngine.stats.dropped;
  check((dropped["auth"] ?? 0) === 0, seed, `${dropped["auth"]} junk signatures were checked`);
  check((dropped["hello-cookie"] ?? 0) >= 5_000, seed, "the junk was not answered by cookies");
  check(seedEngine.tableSizes().known <= 5, seed, "the flood grew the member table");
});

Deno.test("swim: a junk Hello flood from one address that receives is limited per source", () => {
  const seed = 1122;
  const cluster = convergedCluster({ n: 4, seed });
  const attacker = insider(seed + 1);
  const seedEngine = cluster.nodes[0].engine!;
  const named = cluster.nodes[2].publicKey;
  const from = "203.0.113.7:40000";
  // The attacker receives at its address, so it can get a cookie bound to it and the key.
  const probe = junkHello(attacker, named, 1);
  seedEngine.receive(from, probe, cluster.net.now);
  const answer = seedEngine.drainOutgoing().find((out) => out.to === from)!;
  const cookie = answer.data.subarray(64, 80).slice();
  const seedKey = cluster.nodes[0].publicKey;
  const start = cluster.net.now;
  const sourcesBefore = seedEngine.tableSizes().helloSources;
  for (let i = 0; i < 10_000; i++) {
    const data = junkHello(attacker, named, 2 + i, seedKey, cookie);
    seedEngine.receive(from, data, start + i / 10); // 10,000 a second for one second
  }
  const checked = seedEngine.stats.dropped["auth"] ?? 0;
  check(checked <= 8, seed, `${checked} signatures checked for one source in one second`);
  check(
    seedEngine.tableSizes().helloSources === sourcesBefore + 1,
    seed,
    "the flood was not charged to its one source",
  );
  check(
    (seedEngine.stats.dropped["hello-source-rate"] ?? 0) >= 9_000,
    seed,
    "the per-source limit did not hold the flood",
  );
});

Deno.test("swim: a captured Hello is refused by other members and after a restart", () => {
  const seed = 1123;
  const cluster = convergedCluster({ n: 4, seed });
  const joiner = 3;
  const seedNode = 0;
  const captured: Uint8Array[] = [];
  cluster.net.tap = (from, to, data) => {
    if (from === cluster.nodes[joiner].address && to === cluster.nodes[seedNode].address) {
      if (data[0] === 0x05) captured.push(data.slice());
    }
  };
  // The joiner restarts and joins through the seed: its cookie-bearing Hello is captured.
  cluster.restart(joiner, [seedNode]);
  cluster.runUntil(() => cluster.converged(), cluster.net.now + 30_000);
  cluster.net.tap = null;
  const signed = captured.filter((data) => data.subarray(64, 96).some((byte) => byte !== 0));
  check(signed.length >= 1, seed, "no cookie-bearing Hello captured");
  const hello = signed[signed.length - 1];
  const attacker = "203.0.113.66:51821";
  const joinerKey = cluster.nodes[joiner].publicKey;

  // Replayed to another member: not accepted, the joiner's address stays where it is.
  const other = cluster.nodes[1].engine!;
  const before = other.member(joinerKey)!.address;
  const accepted = other.stats.accepted;
  other.receive(attacker, hello, cluster.net.now);
  check(other.stats.accepted === accepted, seed, "another member accepted the replayed Hello");
  check(other.member(joinerKey)!.address === before, seed, "the replay moved the address");

  // After the joiner restarts again (new epoch), the old Hello is refused by the seed too.
  cluster.restart(joiner, [seedNode]);
  cluster.runUntil(() => cluster.converged(), cluster.net.now + 30_000);
  const seedEngine = cluster.nodes[seedNode].engine!;
  const stale = seedEngine.stats.dropped["stale-epoch"] ?? 0;
  const address = seedEngine.member(joinerKey)!.address;
  seedEngine.receive(attacker, hello, cluster.net.now);
  check(
    (seedEngine.stats.dropped["stale-epoch"] ?? 0) === stale + 1,
    seed,
    "a Hello of the previous run was not refused as stale",
  );
  check(seedEngine.member(joinerKey)!.address === address, seed, "the stale Hello moved it");
});
