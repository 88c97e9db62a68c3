/**
 * Fuzz targets for the whole SWIM receive path of a real engine (real crypto): a node R that
 * joined a small cluster (I, T) gets mutated datagrams captured from that cluster's own
 * traffic (Hellos included), and then a trusted insider's correctly encrypted datagrams whose
 * bodies carry mutated signed records. Nothing mutated may authenticate, no forged record may
 * be applied, R may send only to addresses it learnt from genuine records, and every table
 * stays within its bound.
 */

import { ItemKind, MessageType } from "../../lib/swim/constants.ts";
import { sealDatagram } from "../../lib/swim/datagram.ts";
import type { Address } from "../../lib/swim/address.ts";
import {
  SwimEngine,
  type SwimEngine as Engine,
  trustKeys,
  type TrustPolicy,
} from "../../lib/swim/engine.ts";
import { encodeBody, FLAG_INTRODUCE, FLAG_SYNC_FULL } from "../../lib/swim/message_body.ts";
import {
  keyId,
  makeAliveRecord,
  makeClaim,
  makeLeaveRecord,
  NatType,
} from "../../lib/swim/records.ts";
import type { SwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { ensure, Mutator, type Rng, runFuzz, startFuzz } from "./fuzz_kit.ts";
import { swimIdentity } from "./swim_identities.ts";

const R_ADDRESS = "192.0.2.10:51821";
const I_ADDRESS = "192.0.2.11:51821";
const T_ADDRESS = "192.0.2.12:51821";

interface Node {
  address: Address;
  crypto: SwimCrypto;
  engine: Engine;
}

interface Captured {
  from: Address;
  data: Uint8Array;
}

/** R (the target, seed of the cluster), insider I and third member T, joined and converged. */
function bootstrap(rng: Rng, open = false) {
  const r = swimIdentity(rng);
  const i = swimIdentity(rng);
  const t = swimIdentity(rng);
  // `--open` admits every key: then only authentication keeps forged senders out.
  const trust: TrustPolicy = open
    ? { isTrusted: () => true }
    : trustKeys([r.publicKey, i.publicKey, t.publicKey]);
  let clock = 1_000;
  const make = (crypto: SwimCrypto, address: Address, epoch: number, seeds: Address[]): Node => ({
    address,
    crypto,
    engine: new SwimEngine({
      crypto,
      trust,
      epoch,
      endpoints: [address],
      nat: NatType.Public,
      seeds,
      // Every Hello reaches the decoder and the signature check (no rate-limit drops).
      config: { helloRatePerSecond: 1e9 },
      random: () => rng.float(),
    }),
  });
  const nodes = [
    make(r, R_ADDRESS, 1_700_000_000_001, []),
    make(i, I_ADDRESS, 1_700_000_000_002, [R_ADDRESS]),
    make(t, T_ADDRESS, 1_700_000_000_003, [R_ADDRESS]),
  ];
  const captured: Captured[] = [];
  for (const node of nodes) node.engine.start(clock);
  const step = () => {
    clock += 20;
    for (const node of nodes) {
      node.engine.tick(clock);
      for (const out of node.engine.drainOutgoing()) {
        const to = nodes.find((other) => other.address === out.to);
        if (to === undefined) continue;
        if (to === nodes[0]) captured.push({ from: node.address, data: out.data });
        to.engine.receive(node.address, out.data, clock);
      }
      node.engine.drainEvents();
    }
  };
  const converged = () =>
    nodes.every((node) => node.engine.members("alive").length === nodes.length - 1);
  for (let n = 0; n < 5_000 && !converged(); n++) step();
  ensure(converged(), "the bootstrap cluster did not converge");
  // A few protocol periods more, so the capture holds pings, acks, syncs and gossip.
  for (let n = 0; n < 500; n++) step();
  return { nodes, captured, now: clock };
}

/** A membership fingerprint: what a forged datagram must never change. */
function membership(engine: Engine): string {
  const members = engine.members().map((m) =>
    `${
      keyId(m.publicKey)
    }|${m.state}|${m.epoch}|${m.incarnation}|${m.nat}|${m.endpoints}|${m.address}`
  );
  return `${engine.incarnation}#${members.sort().join(";")}`;
}

function droppedReason(before: Record<string, number>, after: Record<string, number>): string {
  for (const [reason, count] of Object.entries(after)) {
    if ((before[reason] ?? 0) !== count) return `dropped ${reason}`;
  }
  return "no drop";
}

function wireTarget(name: string, open: boolean, reasons: string[]): void {
  const run = startFuzz(name);
  const { nodes, captured, now } = bootstrap(run.rng, open);
  const engine = nodes[0].engine;
  const kinds = new Set(captured.map((c) => c.data[0]));
  for (const type of [MessageType.Hello, MessageType.Ping, MessageType.Ack]) {
    ensure(kinds.has(type), `the capture has no datagram of type ${type}`);
  }
  const seeds = captured.map((c) => c.data);
  const senders = [I_ADDRESS, T_ADDRESS, "203.0.113.9:4000"];
  const fingerprint = membership(engine);
  const sizes = JSON.stringify(engine.tableSizes());
  const accepted = engine.stats.accepted;
  const mutator = new Mutator(run.rng, { maxLength: 1400 });
  const outcomes = runFuzz(name, run, () => mutator.next(seeds), (input) => {
    const before = { ...engine.stats.dropped };
    // The clock stands still: any change of state can only come from the datagram itself.
    engine.receive(run.rng.pick(senders), input, now);
    engine.drainOutgoing();
    engine.drainEvents();
    ensure(engine.stats.accepted === accepted, "a mutated or replayed datagram authenticated");
    ensure(membership(engine) === fingerprint, "membership changed");
    const after = JSON.stringify(engine.tableSizes());
    ensure(after === sizes, `tables changed from ${sizes} to ${after}`);
    return droppedReason(before, engine.stats.dropped);
  });
  for (const reason of reasons) {
    ensure((outcomes.get(`dropped ${reason}`) ?? 0) > 100, `too few inputs dropped as ${reason}`);
  }
}

Deno.test("fuzz swim engine: mutated cluster datagrams (Hellos too) never authenticate", () => {
  wireTarget("swim-engine-wire", false, ["auth", "replay", "untrusted"]);
});

Deno.test("fuzz swim engine, --open: forged senders neither authenticate nor grow a table", () => {
  // With every key admitted, a mutated sender key is a new "trusted" peer: it must not get a
  // row in the member table (65,536 rows, then real joiners are refused) before it authenticates.
  wireTarget("swim-engine-open", true, ["auth", "replay", "bad-key"]);
});

/** Genuine signed items about the cluster, and the member versions they may lead to. */
function genuineMaterial(rng: Rng, nodes: Node[]) {
  const [r, i, t] = nodes;
  const outsider = swimIdentity(rng);
  const items: Uint8Array[] = [];
  const versions = new Map<string, Set<string>>();
  const allow = (key: Uint8Array, epoch: number, incarnation: number, endpoints: Address[]) => {
    const id = keyId(key);
    if (!versions.has(id)) versions.set(id, new Set());
    versions.get(id)!.add(`${epoch}|${incarnation}|${endpoints}`);
  };
  const addresses = new Set<Address>([I_ADDRESS, T_ADDRESS]);
  for (const member of r.engine.members()) {
    allow(member.publicKey, member.epoch, member.incarnation, member.endpoints);
  }
  for (const node of [i, t]) {
    const epoch = node.engine.epoch;
    for (let incarnation = 1; incarnation <= 4; incarnation++) {
      const endpoints = [`198.51.100.${incarnation}:${51820 + incarnation}`, node.address];
      for (const endpoint of endpoints) addresses.add(endpoint);
      items.push(makeAliveRecord(node.crypto, epoch, incarnation, NatType.Cone, endpoints).bytes);
      allow(node.crypto.publicKey, epoch, incarnation, endpoints);
    }
    const restarted = makeAliveRecord(node.crypto, epoch + 1, 0, NatType.Public, [node.address]);
    items.push(restarted.bytes);
    allow(node.crypto.publicKey, epoch + 1, 0, [node.address]);
    // A leave moves the version on but keeps whichever record's endpoints were current.
    items.push(makeLeaveRecord(node.crypto, epoch + 1, 1).bytes);
    const variants = [
      [node.address],
      ...[1, 2, 3, 4].map((n) => [
        `198.51.100.${n}:${51820 + n}`,
        node.address,
      ]),
    ];
    for (const endpoints of variants) allow(node.crypto.publicKey, epoch + 1, 1, endpoints);
  }
  for (const member of r.engine.members()) {
    for (const kind of [ItemKind.Suspect, ItemKind.Dead] as const) {
      items.push(
        makeClaim(i.crypto, kind, member.publicKey, member.epoch, member.incarnation).bytes,
      );
    }
  }
  let maxClaimAboutR = r.engine.incarnation;
  for (let incarnation = 0; incarnation <= 2; incarnation++) {
    items.push(
      makeClaim(i.crypto, ItemKind.Suspect, r.crypto.publicKey, r.engine.epoch, incarnation).bytes,
    );
    maxClaimAboutR = Math.max(maxClaimAboutR, incarnation);
  }
  // An untrusted outsider's record and claim: signed correctly, never to be applied.
  items.push(makeAliveRecord(outsider, 5, 0, NatType.Public, ["203.0.113.66:9"]).bytes);
  items.push(makeClaim(outsider, ItemKind.Dead, t.crypto.publicKey, t.engine.epoch, 0).bytes);
  return { items, versions, addresses, maxClaimAboutR };
}

Deno.test("fuzz swim engine: an insider's mutated records are never applied, tables bounded", () => {
  const run = startFuzz("swim-engine-insider");
  const { nodes, now: start } = bootstrap(run.rng);
  const [r, insider] = nodes;
  const engine = r.engine;
  const { items, versions, addresses, maxClaimAboutR } = genuineMaterial(run.rng, nodes);
  // The insider "restarts" (a newer epoch) so its counters start afresh in R's replay window.
  const epoch = insider.engine.epoch + 1;
  const shared = insider.crypto.sharedSecret(r.crypto.publicKey)!;
  const key = insider.crypto.sessionKey(
    shared,
    insider.crypto.publicKey,
    r.crypto.publicKey,
    epoch,
    engine.epoch,
  );
  const types = Object.values(MessageType).filter((type) => type !== MessageType.Hello);
  const targets = nodes.map((node) => node.crypto.publicKey).concat([run.rng.bytes(32)]);
  // Input = type byte ‖ body; the body's items are mutated along with its fields.
  const seeds: Uint8Array[] = [];
  for (const type of types) {
    for (let n = 0; n < 6; n++) {
      const chosen = Array.from({ length: 1 + run.rng.below(3) }, () => run.rng.pick(items));
      const target = type === MessageType.PingReq ? run.rng.pick(targets) : null;
      const flags = run.rng.pick([0, FLAG_INTRODUCE, FLAG_SYNC_FULL]);
      seeds.push(
        Uint8Array.of(type, ...encodeBody(type, run.rng.below(1000), flags, target, chosen)),
      );
    }
  }
  let counter = 0;
  let now = start;
  const peak: Record<string, number> = {};
  const mutator = new Mutator(run.rng, { maxLength: 1100 });
  // Half the inputs re-frame in-place-tweaked items in a valid body, so they get past the
  // length checks to the version and signature checks.
  const make = () => {
    if (run.rng.chance(0.5)) return mutator.next(seeds);
    const type = run.rng.pick(types);
    const chosen = Array.from(
      { length: 1 + run.rng.below(3) },
      () => run.rng.chance(0.7) ? mutator.tweak(run.rng.pick(items)) : run.rng.pick(items),
    );
    const target = type === MessageType.PingReq ? run.rng.pick(targets) : null;
    return Uint8Array.of(type, ...encodeBody(type, run.rng.below(1000), 0, target, chosen));
  };
  const outcomes = runFuzz("swim-engine-insider", run, make, (input) => {
    if (input.length === 0) return "empty";
    const before = { ...engine.stats.dropped };
    const accepted = engine.stats.accepted;
    const type = types.includes(input[0] as typeof types[number]) ? input[0] : MessageType.Gossip;
    const datagram = sealDatagram(
      insider.crypto,
      key,
      type,
      epoch,
      engine.epoch,
      counter++,
      r.crypto.publicKey,
      input.subarray(1),
    );
    now += run.rng.below(50);
    engine.receive(I_ADDRESS, datagram, now);
    for (const out of engine.drainOutgoing()) {
      ensure(addresses.has(out.to), `R sent to ${out.to}, an address no genuine record named`);
    }
    engine.drainEvents();
    for (const member of engine.members()) {
      const allowed = versions.get(keyId(member.publicKey));
      ensure(allowed !== undefined, "a member with an untrusted or unknown key was listed");
      const version = `${member.epoch}|${member.incarnation}|${member.endpoints}`;
      ensure(allowed!.has(version), `member version ${version} was never genuinely signed`);
    }
    ensure(
      engine.incarnation <= maxClaimAboutR + 1,
      `R raised its incarnation to ${engine.incarnation}`,
    );
    const sizes = engine.tableSizes();
    for (const [table, size] of Object.entries(sizes)) {
      peak[table] = Math.max(peak[table] ?? 0, size);
    }
    ensure(sizes.known <= 2 && sizes.members <= 2, `member tables grew: ${JSON.stringify(sizes)}`);
    ensure(sizes.probes <= 8 && sizes.relays <= 256, `probe tables grew: ${JSON.stringify(sizes)}`);
    ensure(sizes.queue <= 64 && sizes.timers <= 512, `queues grew: ${JSON.stringify(sizes)}`);
    if (engine.stats.accepted === accepted) return droppedReason(before, engine.stats.dropped);
    return `authenticated, then ${droppedReason(before, engine.stats.dropped)}`;
  });
  console.log(`fuzz swim-engine-insider: peak table sizes ${JSON.stringify(peak)}`);
  const applied = [...outcomes].filter(([k]) => k.startsWith("authenticated")).reduce(
    (s, [, v]) => s + v,
    0,
  );
  ensure(applied > run.iterations / 4, `only ${applied} bodies decoded`);
  ensure(
    (engine.stats.dropped["bad-signature"] ?? 0) > 100,
    "too few forged records reached the signature check",
  );
});
