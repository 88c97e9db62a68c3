/**
 * Fuzz target for GRO towards the TUN (issue 16): a batch of decrypted packets (a peer sends
 * whatever it likes inside the tunnel) mutated from a valid TCP flow. Coalescing never throws,
 * never writes more than a 64 KB super-packet, loses or duplicates no packet, and every
 * super-packet it writes cuts (as the kernel would) back into exactly the segments it took.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { GsoSplitter } from "../../lib/device/gso_splitter.ts";
import { COALESCE_BUFFER_BYTES, TcpCoalescer } from "../../lib/device/tcp_coalescer.ts";
import type { TunQueue } from "../../lib/device/packet_io.ts";
import { superPacket } from "../data_path/offload_packets.ts";
import {
  ensure,
  flattenPackets,
  Mutator,
  packetKey,
  runFuzz,
  startFuzz,
  unflattenPackets,
} from "./fuzz_kit.ts";

const SLOT = 1536;
const BATCH = 24;

Deno.test("fuzz TCP coalescing: nothing lost, duplicated or changed; super-packets split back exactly", async () => {
  const run = startFuzz("tcp-coalesce");
  const core = await CryptoCore.create({ arenaBytes: 1 << 19 });
  const bytes = core.bytes;
  const sum = (at: number, n: number) => core.exports.checksumSum(at, n);
  const slotsAt = core.layout.arenaBase;
  const bufferAt = slotsAt + BATCH * SLOT;
  const splitAt = bufferAt + COALESCE_BUFFER_BYTES + 64;
  const views = Array.from(
    { length: BATCH },
    (_, i) => bytes.subarray(slotsAt + i * SLOT, slotsAt + (i + 1) * SLOT),
  );
  const writes: Uint8Array[] = [];
  const queue: TunQueue = {
    read: () => 0,
    write(view, length) {
      ensure(length <= COALESCE_BUFFER_BYTES, `a ${length}-byte write`);
      writes.push(view.slice(0, length));
      return length;
    },
  };
  const coalescer = new TcpCoalescer(bytes, sum, views, [queue], bufferAt);
  const splitter = new GsoSplitter(bytes, sum);
  // Seeds: the segments of a valid flow (IPv4 and IPv6), as the kernel would have cut them.
  const segments: Uint8Array[] = [];
  for (const options of [{ v6: false }, { v6: true }]) {
    const read = superPacket({ ...options, payload: 12 * 200, gsoSize: 200 });
    bytes.set(read, splitAt);
    splitter.begin(splitAt, read.length, 1420);
    for (let n; (n = splitter.next(splitAt + 70_000)) > 0;) {
      segments.push(bytes.slice(splitAt + 70_000, splitAt + 70_000 + n));
    }
  }
  const mutator = new Mutator(run.rng, { maxLength: 400 });
  const outcomes = runFuzz("tcp-coalesce", run, (i) => {
    // A batch: a run of valid segments with some mutated, dropped or repeated.
    const v6 = i % 2 === 1;
    const base = segments.slice(v6 ? 12 : 0, v6 ? 24 : 12);
    const batch: Uint8Array[] = [];
    for (const segment of base) {
      const roll = run.rng.below(10);
      if (roll === 0) continue;
      batch.push(roll === 1 ? mutator.next([segment]) : segment);
      if (roll === 2) batch.push(segment);
    }
    return flattenPackets(batch);
  }, (flat) => {
    const batch = unflattenPackets(flat);
    writes.length = 0;
    batch.forEach((packet, slot) => {
      bytes.set(packet, views[slot].byteOffset + 10);
      coalescer.add(slot, views[slot].byteOffset + 10, packet.length, 0);
    });
    coalescer.flush();
    // What the host's stack receives, each super-packet cut as the kernel would.
    const delivered: string[] = [];
    const raw: Uint8Array[] = [];
    let supers = 0;
    for (const write of writes) {
      if (write[1] === 0) {
        delivered.push(packetKey(write.subarray(10)));
        raw.push(write.subarray(10));
        continue;
      }
      supers++;
      bytes.set(write, splitAt);
      ensure(splitter.begin(splitAt, write.length, 1420), "a super-packet the kernel would refuse");
      for (let n; (n = splitter.next(splitAt + 70_000)) > 0;) {
        delivered.push(packetKey(bytes.subarray(splitAt + 70_000, splitAt + 70_000 + n)));
        raw.push(bytes.slice(splitAt + 70_000, splitAt + 70_000 + n));
      }
    }
    const sent = batch.map(packetKey);
    ensure(delivered.length === sent.length, `${sent.length} packets in, ${delivered.length} out`);
    if ([...delivered].sort().join("|") !== [...sent].sort().join("|")) {
      // Name the bytes that differ between the first packet sent and not delivered, and the
      // first delivered and not sent.
      const a = batch.find((p) => !delivered.includes(packetKey(p))) ?? new Uint8Array();
      const b = raw.find((p) => !sent.includes(packetKey(p))) ?? new Uint8Array();
      const diff = [];
      for (let j = 0; j < Math.max(a.length, b.length) && diff.length < 12; j++) {
        if (a[j] !== b[j]) diff.push(`${j}:${a[j]}/${b[j]}`);
      }
      ensure(false, `a packet was changed, lost or duplicated (${a.length}/${b.length}: ${diff})`);
    }
    return supers > 0 ? "coalesced" : "plain";
  });
  ensure((outcomes.get("coalesced") ?? 0) > run.iterations / 4, "too few batches coalesced");
});
