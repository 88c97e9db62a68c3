/**
 * Fuzz target for GRO towards the TUN (issue 16): a batch of decrypted packets (a peer sends
 * whatever it likes inside the tunnel) mutated from a valid TCP flow. Coalescing never throws,
 * never writes more than a 64 KB super-packet, loses or duplicates no packet, and every
 * super-packet it writes cuts (as the kernel would) back into exactly the segments it took.
 */

import { COALESCE_BUFFER_BYTES } from "../../lib/device/tcp_coalescer.ts";
import { coalesceRig } from "../data_path/coalesce_rig.ts";
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

Deno.test("fuzz TCP coalescing: nothing lost, duplicated or changed; super-packets split back exactly", async () => {
  const run = startFuzz("tcp-coalesce");
  const { cut, batch: coalesce } = await coalesceRig(false);
  // Seeds: the segments of a valid flow (IPv4 and IPv6), as the kernel would have cut them.
  const segments: Uint8Array[] = [];
  for (const options of [{ v6: false }, { v6: true }]) {
    segments.push(...cut(superPacket({ ...options, payload: 12 * 200, gsoSize: 200 })));
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
    const writes = coalesce(batch);
    // What the host's stack receives, each super-packet cut as the kernel would.
    const delivered: string[] = [];
    const raw: Uint8Array[] = [];
    let supers = 0;
    for (const write of writes) {
      ensure(write.length <= COALESCE_BUFFER_BYTES, `a ${write.length}-byte write`);
      if (write[1] === 0) {
        delivered.push(packetKey(write.subarray(10)));
        raw.push(write.subarray(10));
        continue;
      }
      supers++;
      for (const segment of cut(write)) {
        delivered.push(packetKey(segment));
        raw.push(segment);
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
