/**
 * Fuzz target for the relay's forwarding decision (issue 13): whatever arrives, only a
 * well-formed TO_RELAY frame carrying a WireGuard datagram, from a trusted member's verified
 * address, to another trusted member with a proven path, is forwarded; everything else is
 * dropped with the frame untouched, and nothing throws.
 */

import { encodeHex as hex } from "../../lib/encoding/base64.ts";
import { encodeRelayFrame, RELAY_FROM, RELAY_TO } from "../../lib/relay/relay_frame.ts";
import { RELAY_FORWARD, RELAY_VERDICTS, RelayTable } from "../../lib/relay/relay_table.ts";
import { RelayEndpoints } from "../../lib/relay/relay_endpoints.ts";
import { ensure, Mutator, runFuzz, startFuzz } from "./fuzz_kit.ts";

function ip(last: number): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 99, 0, last]);
}

Deno.test("fuzz relay frames: forged, malformed and outsiders' frames are dropped untouched", () => {
  const run = startFuzz("relay-frame");
  const members = [1, 2, 3].map((n) => ({ key: run.rng.bytes(32), ip: ip(n), port: 50_000 + n }));
  const outsider = { key: run.rng.bytes(32), ip: ip(66), port: 50_066 };
  const table = new RelayTable({ packetsPerSecond: 1e9, packetBurst: 1e9 }, 1);
  table.setMembers(members);
  const ids = new Set(members.map((m) => hex(m.key.subarray(0, 8))));
  const sources = [...members, outsider];
  const wireguard = (type: number, length: number) => {
    const out = run.rng.bytes(length);
    out.set([type, 0, 0, 0]);
    return out;
  };
  const seeds = [
    encodeRelayFrame(RELAY_TO, members[1].key, wireguard(4, 96)),
    encodeRelayFrame(RELAY_TO, members[0].key, wireguard(1, 148)),
    encodeRelayFrame(RELAY_FROM, members[2].key, wireguard(4, 32)),
    encodeRelayFrame(RELAY_TO, outsider.key, wireguard(2, 92)),
  ];
  const mutator = new Mutator(run.rng, {
    maxLength: 300,
    dictionary: seeds.map((s) => s.subarray(0, 16)),
  });
  const outcomes = runFuzz("relay-frame", run, () => mutator.next(seeds), (input, i) => {
    const source = sources[i % sources.length];
    const before = input.slice();
    const verdict = table.relay(input, source.ip, source.port, i);
    if (verdict !== RELAY_FORWARD) {
      ensure(hex(input) === hex(before), "a dropped frame was modified");
      return RELAY_VERDICTS[verdict];
    }
    ensure(source !== outsider, "an outsider's frame was forwarded");
    ensure(
      before[5] === RELAY_TO && input[5] === RELAY_FROM,
      "forwarded a frame not addressed to us",
    );
    ensure(ids.has(hex(before.subarray(8, 16))), "forwarded to an unknown id");
    ensure(hex(input.subarray(8, 16)) === hex(source.key.subarray(0, 8)), "sender not named");
    ensure(hex(input.subarray(16)) === hex(before.subarray(16)), "payload changed");
    const t = input[16];
    ensure(t >= 1 && t <= 4 && (input[17] | input[18] | input[19]) === 0, "not WireGuard");
    const dest = members.find((m) => hex(m.key.subarray(0, 8)) === hex(before.subarray(8, 16)))!;
    ensure(dest !== source && table.destPort === dest.port, "wrong destination");
    ensure(hex(table.destIp) === hex(dest.ip), "wrong destination address");
    return "forward";
  });
  ensure((outcomes.get("forward") ?? 0) > 1000, "too few frames forwarded");
  ensure((outcomes.get("untrusted") ?? 0) > 1000, "too few outsiders tried");
});

Deno.test("fuzz relay frames at a receiver: only a FROM frame from a bound relay naming a bound peer is unwrapped", () => {
  const run = startFuzz("relay-unwrap");
  const relays = [ip(1), ip(2)];
  const peers = [run.rng.bytes(32), run.rng.bytes(32)];
  const endpoints = new RelayEndpoints();
  // Bound: (relay 1, peer 0) and (relay 2, peer 1); (relay 1, peer 1) is not.
  const bound = new Map<string, number>([
    [
      `${hex(relays[0])} ${hex(peers[0].subarray(0, 8))}`,
      endpoints.bind(relays[0], 51820, peers[0]),
    ],
    [
      `${hex(relays[1])} ${hex(peers[1].subarray(0, 8))}`,
      endpoints.bind(relays[1], 51820, peers[1]),
    ],
  ]);
  const sources = [relays[0], relays[1], ip(66)];
  const wireguard = (type: number, length: number) => {
    const out = run.rng.bytes(length);
    out.set([type, 0, 0, 0]);
    return out;
  };
  const seeds = [
    encodeRelayFrame(RELAY_FROM, peers[0], wireguard(4, 96)),
    encodeRelayFrame(RELAY_FROM, peers[1], wireguard(2, 92)),
    encodeRelayFrame(RELAY_TO, peers[0], wireguard(1, 148)),
  ];
  const mutator = new Mutator(run.rng, { maxLength: 300 });
  const virtual = new Uint8Array(16);
  const outcomes = runFuzz("relay-unwrap", run, () => mutator.next(seeds), (input, i) => {
    const source = sources[i % sources.length];
    const slot = endpoints.unwrap(input, source, 51820, virtual);
    if (slot < 0) return "dropped";
    const key = `${hex(source)} ${hex(input.subarray(8, 16))}`;
    ensure(bound.get(key) === slot, `unwrapped an unbound (relay, peer): ${key}`);
    ensure(
      input[5] === RELAY_FROM && input[16] >= 1 && input[16] <= 4,
      "not a FROM WireGuard frame",
    );
    ensure(virtual[0] === 1 && ((virtual[14] << 8) | virtual[15]) === slot, "wrong virtual source");
    return "unwrapped";
  });
  ensure((outcomes.get("unwrapped") ?? 0) > 1000, "too few frames unwrapped");
});
