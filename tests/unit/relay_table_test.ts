import { assertEquals } from "../assert.ts";
import {
  encodeRelayFrame,
  RELAY_FROM,
  RELAY_TO,
  relayFrameKind,
  relayPayload,
  relayShortId,
} from "../../lib/relay/relay_frame.ts";
import {
  RELAY_DROP_MALFORMED,
  RELAY_DROP_NO_PATH,
  RELAY_DROP_PAIR_CAP,
  RELAY_DROP_RATE,
  RELAY_DROP_UNTRUSTED,
  RELAY_FORWARD,
  type RelayLimits,
  RelayTable,
} from "../../lib/relay/relay_table.ts";

function key(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

function ip(last: number): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 99, 0, last]);
}

const A = { key: key(0xa1), ip: ip(1), port: 51820 };
const B = { key: key(0xb2), ip: ip(2), port: 40000 };
const C = { key: key(0xc3), ip: ip(3), port: 41000 };
const NO_ADDRESS = { key: key(0xd4), ip: null, port: 0 };

function frameTo(dest: Uint8Array, length = 64): Uint8Array {
  const payload = new Uint8Array(length);
  payload[0] = 4;
  for (let i = 4; i < length; i++) payload[i] = (i * 7) & 0xff;
  return encodeRelayFrame(RELAY_TO, dest, payload);
}

function table(limits: Partial<RelayLimits> = {}): RelayTable {
  const t = new RelayTable(limits, 7);
  t.setMembers([A, B, C, NO_ADDRESS]);
  return t;
}

Deno.test("relay table: a trusted sender's frame leaves rewritten in place towards the destination's verified address", () => {
  const t = table();
  const frame = frameTo(B.key);
  const payload = relayPayload(frame).slice();
  assertEquals(t.relay(frame, A.ip, A.port, 0), RELAY_FORWARD);
  assertEquals(relayFrameKind(frame), RELAY_FROM);
  assertEquals([...relayShortId(frame)], [...A.key.subarray(0, 8)], "names the sender now");
  assertEquals([...relayPayload(frame)], [...payload], "the WireGuard datagram is untouched");
  assertEquals([...t.destIp], [...B.ip]);
  assertEquals(t.destPort, B.port);
  assertEquals(t.forwardedBytes, frame.length);
  assertEquals(t.pairCount, 1);
});

Deno.test("relay table: outsiders, wrong ports, unknown, self or unproven destinations and malformed frames are dropped untouched", () => {
  const t = table();
  const cases: [Uint8Array, Uint8Array, number, number, string][] = [
    [frameTo(B.key), ip(66), A.port, RELAY_DROP_UNTRUSTED, "outsider address"],
    [frameTo(B.key), A.ip, A.port + 1, RELAY_DROP_UNTRUSTED, "member's address, other port"],
    [frameTo(key(0xee)), A.ip, A.port, RELAY_DROP_NO_PATH, "unknown destination"],
    [frameTo(A.key), A.ip, A.port, RELAY_DROP_NO_PATH, "to itself"],
    [
      frameTo(NO_ADDRESS.key),
      A.ip,
      A.port,
      RELAY_DROP_NO_PATH,
      "destination without a proven path",
    ],
    [
      encodeRelayFrame(RELAY_FROM, B.key, frameTo(B.key).subarray(16)),
      A.ip,
      A.port,
      RELAY_DROP_MALFORMED,
      "a FROM frame sent to the relay",
    ],
  ];
  for (const [frame, from, port, verdict, what] of cases) {
    const before = frame.slice();
    assertEquals(t.relay(frame, from, port, 0), verdict, what);
    assertEquals([...frame], [...before], `${what}: untouched`);
  }
  assertEquals(t.counts[RELAY_DROP_UNTRUSTED], 2);
  assertEquals(t.counts[RELAY_FORWARD], 0);
  // A member without an address cannot send either: it has no verified address to match.
  assertEquals(t.pairCount, 0);
});

Deno.test("relay table: per-sender packet budget holds; another sender is unaffected; it refills with time", () => {
  const t = table({ packetBurst: 10, packetsPerSecond: 100 });
  let forwarded = 0;
  for (let i = 0; i < 50; i++) {
    if (t.relay(frameTo(B.key), A.ip, A.port, 0) === RELAY_FORWARD) forwarded++;
  }
  assertEquals(forwarded, 10);
  assertEquals(t.counts[RELAY_DROP_RATE], 40);
  assertEquals(t.relay(frameTo(A.key), B.ip, B.port, 0), RELAY_FORWARD, "B has its own budget");
  assertEquals(
    t.relay(frameTo(B.key), A.ip, A.port, 5),
    RELAY_DROP_RATE,
    "half a token after 5 ms",
  );
  assertEquals(t.relay(frameTo(B.key), A.ip, A.port, 100), RELAY_FORWARD, "refilled");
});

Deno.test("relay table: per-sender byte budget holds", () => {
  const t = table({ byteBurst: 1_000, bytesPerSecond: 1_000 });
  const verdicts = [0, 1, 2, 3].map(() => t.relay(frameTo(B.key, 300), A.ip, A.port, 0));
  assertEquals(verdicts, [RELAY_FORWARD, RELAY_FORWARD, RELAY_FORWARD, RELAY_DROP_RATE]);
  assertEquals(t.forwardedBytes, 3 * 316);
});

Deno.test("relay table: at most maxPairs active pairs; an idle pair gives its place", () => {
  const t = table({ maxPairs: 2, pairIdleMs: 1_000 });
  assertEquals(t.relay(frameTo(B.key), A.ip, A.port, 0), RELAY_FORWARD);
  assertEquals(t.relay(frameTo(A.key), B.ip, B.port, 0), RELAY_FORWARD, "each direction is a pair");
  assertEquals(t.relay(frameTo(C.key), A.ip, A.port, 500), RELAY_DROP_PAIR_CAP);
  assertEquals(t.relay(frameTo(B.key), A.ip, A.port, 900), RELAY_FORWARD, "an active pair goes on");
  assertEquals(t.relay(frameTo(C.key), A.ip, A.port, 1_100), RELAY_FORWARD, "B→A idle since 0");
  assertEquals(t.pairCount, 2);
  assertEquals(t.relay(frameTo(A.key), B.ip, B.port, 1_200), RELAY_DROP_PAIR_CAP, "B→A lost it");
});

Deno.test("relay table: a membership update keeps budgets and pairs, follows new addresses, refuses a colliding short id", () => {
  const t = table({ packetBurst: 2, packetsPerSecond: 1, maxPairs: 1 });
  t.relay(frameTo(B.key), A.ip, A.port, 0);
  t.relay(frameTo(B.key), A.ip, A.port, 0);
  const moved = { ...B, ip: ip(20), port: 45000 };
  const twin = { key: B.key.slice(), ip: ip(21), port: 1 };
  twin.key[31] = 0; // same 8-byte prefix as B
  t.setMembers([C, moved, twin, A]);
  assertEquals(
    t.relay(frameTo(B.key), A.ip, A.port, 0),
    RELAY_DROP_RATE,
    "A's budget carried over",
  );
  assertEquals(t.pairCount, 1, "A→B still active");
  assertEquals(
    t.relay(frameTo(C.key), twin.ip, twin.port, 0),
    RELAY_DROP_UNTRUSTED,
    "twin left out",
  );
  assertEquals(t.relay(frameTo(B.key), A.ip, A.port, 1_000), RELAY_FORWARD);
  assertEquals([...t.destIp], [...moved.ip], "B's new address");
  assertEquals(t.destPort, moved.port);
  assertEquals(t.relay(frameTo(A.key), C.ip, C.port, 1_000), RELAY_DROP_PAIR_CAP, "cap still full");
  t.setMembers([C]);
  assertEquals(t.pairCount, 0, "pairs of members that left are gone");
  assertEquals(t.relay(frameTo(B.key), A.ip, A.port, 2_000), RELAY_DROP_UNTRUSTED, "A left");
});

Deno.test("relay table: the default budgets carry one sender's bulk transfer at 100 MB/s for a second (the lab's direct path does ~60 MB/s)", () => {
  const t = table();
  const template = frameTo(B.key, 1_400);
  const frame = template.slice();
  const frames = 100_000_000 / frame.length;
  let dropped = 0;
  for (let i = 0; i < frames; i++) {
    frame.set(template); // relaying rewrote its header
    if (t.relay(frame, A.ip, A.port, (i * 1_000) / frames) !== RELAY_FORWARD) dropped++;
  }
  assertEquals(dropped, 0);
});
