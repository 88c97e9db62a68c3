/**
 * Issue 11, finding 1: one signed claim must not silence a member for good. A trusted insider
 * accuses a victim at the victim's epoch with incarnation 0xFFFFFFFF; the victim must not
 * "refute" a version it never had (which pushed its incarnation to 2^32, written as 0 on the
 * wire, so every later record of it was ignored), and must still refute real accusations.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { ItemKind, MAX_INCARNATION } from "../../lib/swim/constants.ts";
import {
  checkVersion,
  keyId,
  makeAliveRecord,
  makeClaim,
  NatType,
  readItem,
} from "../../lib/swim/records.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { check, convergedCluster } from "./helpers.ts";
import { Hostile } from "./sim/hostile.ts";
import { mulberry32, randomBytes } from "./sim/prng.ts";

function insiderCrypto(seed: number) {
  const secret = randomBytes(mulberry32(seed), 32);
  const publicKey = ed25519.getPublicKey(secret);
  return { publicKey, crypto: createSwimCrypto(secret, publicKey) };
}

Deno.test("swim: a claim at incarnation 0xFFFFFFFF does not silence its victim", () => {
  const seed = 1101;
  const cluster = convergedCluster({ n: 6, seed });
  const insider = insiderCrypto(seed + 1);
  cluster.extraTrusted.add(keyId(insider.publicKey));
  const hostile = new Hostile(cluster, insider.crypto);
  const victim = 3;
  const victimEngine = cluster.nodes[victim].engine!;
  const accuse = (incarnation: number) =>
    makeClaim(
      insider.crypto,
      ItemKind.Suspect,
      cluster.nodes[victim].publicKey,
      victimEngine.epoch,
      incarnation,
    ).bytes;
  const poison = accuse(MAX_INCARNATION);
  for (const i of cluster.running()) if (i !== 1) hostile.gossip(i, [poison]);
  cluster.run(cluster.net.now + 5_000);
  check(
    victimEngine.incarnation < MAX_INCARNATION,
    seed,
    `victim raised its incarnation to ${victimEngine.incarnation}`,
  );
  // Every node still follows the victim's record: the versions they hold are its own.
  for (const i of cluster.running()) {
    if (i === victim) continue;
    const view = cluster.member(i, victim);
    check(view?.incarnation === victimEngine.incarnation, seed, `node ${i} lost the victim`);
  }
  // A real accusation of its current version is still refuted, and the refutation is heard.
  const before = victimEngine.incarnation;
  const real = accuse(before);
  hostile.gossip(0, [real]);
  const heard = cluster.runUntil(
    () =>
      cluster.running().every((i) =>
        i === victim || (cluster.member(i, victim)?.incarnation ?? -1) > before
      ),
    cluster.net.now + 30_000,
  );
  check(heard !== null, seed, "the victim's refutation of a real claim was not accepted");
  // A short outage after the attack: the victim comes back alive on every node.
  cluster.net.partition = (from, to) =>
    from === cluster.nodes[victim].address || to === cluster.nodes[victim].address;
  const lost = cluster.runUntil(
    () => cluster.running().some((i) => i !== victim && !cluster.sees(i, victim)),
    cluster.net.now + 30_000,
  );
  check(lost !== null, seed, "the outage never made anyone stop seeing the victim alive");
  cluster.net.partition = null;
  const back = cluster.runUntil(
    () => cluster.running().every((i) => i === victim || cluster.sees(i, victim)),
    cluster.net.now + 60_000,
  );
  check(back !== null, seed, "the victim did not come back after a short outage");
});

Deno.test("swim: versions that cannot be encoded exactly are refused on encode", () => {
  const { crypto } = insiderCrypto(1102);
  for (const [epoch, incarnation] of [[1, MAX_INCARNATION + 1], [1, -1], [0, 0], [1, 0.5]]) {
    let threw = false;
    try {
      makeAliveRecord(crypto, epoch, incarnation, NatType.Public, []);
    } catch (error) {
      threw = error instanceof RangeError;
    }
    check(threw, 1102, `(${epoch}, ${incarnation}) was encoded`);
  }
  checkVersion(Number.MAX_SAFE_INTEGER, MAX_INCARNATION);
  const top = makeAliveRecord(crypto, 7, MAX_INCARNATION, NatType.Public, []);
  const decoded = readItem(top.bytes, 0).item!;
  check(decoded.incarnation === MAX_INCARNATION, 1102, "MAX_INCARNATION did not round-trip");
});
