/**
 * Punch requests cannot be forged, replayed or bounced by anyone but their signer (issue 13):
 * a trusted third member ("mallory", an insider who seals valid datagrams) and an untrusted
 * outsider try, and every attempt is dropped and counted without a punch ping going out.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { MessageType } from "../../lib/swim/constants.ts";
import { sealDatagram } from "../../lib/swim/datagram.ts";
import { makePunchRequest } from "../../lib/swim/punch_request.ts";
import { createSwimCrypto, type SwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { MeshSim, type SimHost } from "./mesh_sim.ts";
import { CONE } from "./nat_profiles.ts";

/** Reflexive endpoints are handed in by the test (what STUN would learn), not by STUN rounds. */
const NO_STUN = { kind: "off" } as const;

const MALLORY = "192.0.2.66:51821";
const MALLORY_EPOCH = 5;

/** A sealed Punch datagram from `crypto` (epoch MALLORY_EPOCH) to the running host `to`. */
function punchDatagram(
  crypto: SwimCrypto,
  to: SimHost,
  body: Uint8Array,
  counter: number,
): Uint8Array {
  const receiver = to.identity.publicKey;
  const engine = to.node!.swim!;
  const shared = crypto.sharedSecret(receiver)!;
  const key = crypto.sessionKey(shared, crypto.publicKey, receiver, MALLORY_EPOCH, engine.epoch);
  return sealDatagram(
    crypto,
    key,
    MessageType.Punch,
    MALLORY_EPOCH,
    engine.epoch,
    counter,
    receiver,
    body,
  );
}

Deno.test("punch security: forged, replayed, stale and bounced punch requests are dropped and counted", async () => {
  const sim = new MeshSim({ seed: 31, stun: NO_STUN });
  const home = sim.router.addNat("home", "203.0.113.1", CONE);
  const office = sim.router.addNat("office", "203.0.113.2", CONE);
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  const mallory = await sim.add("mallory", MALLORY);
  const outsider = await sim.add("outsider", "192.0.2.77:51821");
  sim.trustEachOther(["seed", "a", "b", "mallory"]);
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  sim.router.attach(MALLORY, () => {});
  sim.router.attach(outsider.address, () => {});
  sim.runUntil(
    () =>
      sim.peerStatus("a", "b")?.state === "alive" && sim.peerStatus("b", "a")?.state === "alive",
    30_000,
    "a and b learn of each other",
  );
  // a punches b once for real (its genuine request reaches b through the seed).
  for (const [name, nat] of [["a", home], ["b", office]] as const) {
    const outside = nat.mappings(sim.now).find((m) => m.inside === sim.host(name).address)!;
    sim.host(name).node!.setReflexiveEndpoints([outside.outside], sim.now);
  }
  sim.runUntil(
    () => sim.host("b").node!.swim!.punchStats.answered >= 1,
    10_000,
    "b answers a genuine punch request",
  );
  sim.run(3_000);

  const b = sim.host("b");
  const bSwim = b.node!.swim!;
  const aHost = sim.host("a");
  const aCrypto = createSwimCrypto(aHost.identity.seed, aHost.identity.publicKey);
  const malloryCrypto = createSwimCrypto(mallory.identity.seed, mallory.identity.publicKey);
  const aEpoch = aHost.node!.swim!.epoch;
  const answered = bSwim.punchStats.answered;
  const pings = bSwim.punchStats.pings;
  let counter = 1_000;
  const deliver = (to: SimHost, body: Uint8Array, crypto = malloryCrypto, from = MALLORY) => {
    const data = punchDatagram(crypto, to, body, counter++);
    // Handed to the node as if it came through its NAT (an insider may hold a mapping).
    to.node!.receive([{ address: from, data }], sim.now);
    sim.run(50);
  };
  const dropped = (host: SimHost, reason: string) => host.node!.swim!.stats.dropped[reason] ?? 0;

  // 1. Mallory signs a request that names a as the requester: a's signature is missing.
  const forger = {
    publicKey: aHost.identity.publicKey,
    sign: (m: Uint8Array) => malloryCrypto.sign(m),
  };
  deliver(b, makePunchRequest(forger, aEpoch, b.identity.publicKey, bSwim.epoch, 1_000_000).bytes);
  assertEquals(dropped(b, "punch-signature"), 1, "forged request not dropped");

  // 2. A request a really signed, replayed (its nonce is not newer than the one b accepted).
  deliver(b, makePunchRequest(aCrypto, aEpoch, b.identity.publicKey, bSwim.epoch, 0).bytes);
  assertEquals(dropped(b, "punch-replay"), 1, "replayed request not dropped");

  // 3. A request a signed for b's previous boot: b restarted since, so it is stale.
  deliver(b, makePunchRequest(aCrypto, aEpoch, b.identity.publicKey, bSwim.epoch - 1, 9e6).bytes);
  assertEquals(dropped(b, "punch-stale"), 1, "stale request not dropped");

  // 4. Mallory asks the seed to forward a's request: a rendezvous forwards only its sender's own.
  const seed = sim.host("seed");
  const forwarded = seed.node!.swim!.punchStats.forwarded;
  deliver(seed, makePunchRequest(aCrypto, aEpoch, b.identity.publicKey, bSwim.epoch, 9e6).bytes);
  assertEquals(dropped(seed, "punch-not-requester"), 1, "bounced request not dropped");
  assertEquals(seed.node!.swim!.punchStats.forwarded, forwarded);

  // 5. An outsider (untrusted key) sends a well-formed request of its own.
  const outsiderCrypto = createSwimCrypto(outsider.identity.seed, outsider.identity.publicKey);
  const untrusted = dropped(seed, "untrusted");
  deliver(
    seed,
    makePunchRequest(outsiderCrypto, 7, b.identity.publicKey, bSwim.epoch, 1).bytes,
    outsiderCrypto,
    outsider.address,
  );
  assertEquals(dropped(seed, "untrusted"), untrusted + 1, "untrusted punch not dropped");

  // 6. Garbage of the right type from an insider: a decode drop, nothing else.
  deliver(b, new Uint8Array(40));
  assertTrue(dropped(b, "bad-length") >= 1, "malformed punch body not dropped");

  // None of it made b punch towards anyone.
  assertEquals(bSwim.punchStats.answered, answered);
  assertEquals(bSwim.punchStats.pings, pings);
});
