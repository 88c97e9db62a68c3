/**
 * Fuzz target for the TUN offload's splitter (issue 16): whatever a vnet TUN read holds
 * (mutated virtio-net headers and super-packets), splitting never throws, never writes past
 * the segment room, never yields a segment larger than the MTU, and every segment cut from a
 * super-packet carries valid IPv4 and TCP/UDP checksums.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { GsoSplitter } from "../../lib/device/gso_splitter.ts";
import { checksumsValid, superPacket } from "../data_path/offload_packets.ts";
import { ensure, Mutator, runFuzz, startFuzz } from "./fuzz_kit.ts";

const MTU = 1420;
const CANARY = 0xa5;

Deno.test("fuzz vnet TUN reads: malformed headers and super-packets are refused, never crash", async () => {
  const run = startFuzz("gso-split");
  const core = await CryptoCore.create({ arenaBytes: 1 << 18 });
  const bytes = core.bytes;
  const inAt = core.layout.arenaBase;
  const outAt = inAt + 80_000;
  const splitter = new GsoSplitter(bytes, (at, length) => core.exports.checksumSum(at, length));
  const seeds = [
    superPacket({ payload: 3000, gsoSize: 1380 }),
    superPacket({ v6: true, payload: 2900, gsoSize: 1000, tcpFlags: 0x99 }),
    superPacket({ udp: true, payload: 2500, gsoSize: 700 }),
    superPacket({ udp: true, v6: true, payload: 1400, gsoSize: 1300 }),
    superPacket({ payload: 500, gsoSize: 0, plain: true }),
    superPacket({ v6: true, udp: true, payload: 64, gsoSize: 0, plain: true }),
    superPacket({ payload: 0, gsoSize: 1380 }),
  ];
  const mutator = new Mutator(run.rng, {
    maxLength: 4200,
    dictionary: [Uint8Array.of(0x45), Uint8Array.of(0x60), Uint8Array.of(1, 1), Uint8Array.of(5)],
  });
  const outcomes = runFuzz("gso-split", run, () => mutator.next(seeds), (input) => {
    bytes.set(input, inAt);
    const before = splitter.superPackets;
    if (!splitter.begin(inAt, input.length, MTU)) return "refused";
    let segments = 0;
    let total = 0;
    for (;;) {
      bytes.fill(CANARY, outAt + MTU, outAt + MTU + 64);
      const length = splitter.next(outAt);
      if (length === 0) break;
      ensure(length <= MTU, `segment of ${length} bytes past the MTU`);
      for (let i = MTU; i < MTU + 64; i++) {
        ensure(bytes[outAt + i] === CANARY, "wrote past the segment room");
      }
      if (splitter.superPackets !== before) {
        ensure(checksumsValid(bytes.slice(outAt, outAt + length)), "a segment's checksum is wrong");
      }
      segments++;
      total += length;
      ensure(segments <= input.length, "more segments than bytes");
    }
    ensure(segments > 0, "an accepted read produced nothing");
    ensure(total >= input.length - 10, "bytes lost from an accepted read");
    return splitter.superPackets !== before ? "split" : "plain";
  });
  ensure((outcomes.get("split") ?? 0) > run.iterations / 50, "too few reads split");
  ensure((outcomes.get("refused") ?? 0) > run.iterations / 50, "too few reads refused");
});
