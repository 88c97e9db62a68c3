/**
 * Fuzz target for USO towards the TUN (issue 16): a batch of decrypted packets (a peer sends
 * whatever it likes inside the tunnel) mutated from a valid UDP flow. Coalescing never throws,
 * never writes more than a 64 KB super-packet, loses or duplicates no datagram, and every
 * super-packet it writes cuts (as the kernel would) back into exactly the datagrams it took;
 * the flow's datagrams keep their order.
 */

import { COALESCE_BUFFER_BYTES } from "../../lib/device/tcp_coalescer.ts";
import { coalesceRig, udpFlow } from "../data_path/coalesce_rig.ts";
import {
  ensure,
  flattenPackets,
  Mutator,
  packetKey,
  runFuzz,
  startFuzz,
  unflattenPackets,
} from "./fuzz_kit.ts";

Deno.test("fuzz UDP coalescing: nothing lost, duplicated or changed; super-packets split back exactly", async () => {
  const run = startFuzz("udp-coalesce");
  const { cut, batch } = await coalesceRig();
  // Seeds: two flows' datagrams (IPv4 and IPv6), the last of each shorter.
  const flows = [false, true].map((v6) =>
    udpFlow(cut, { v6, payload: 11 * 180 + 50, gsoSize: 180, seed: v6 ? 7 : 3 })
  );
  const originals = new Set<string>();
  const mutator = new Mutator(run.rng, { maxLength: 300 });
  for (const datagram of flows.flat()) originals.add(packetKey(datagram));
  const outcomes = runFuzz("udp-coalesce", run, (i) => {
    // A batch: a run of valid datagrams with some mutated, dropped or repeated.
    const batchOf: Uint8Array[] = [];
    for (const datagram of flows[i % 2]) {
      const roll = run.rng.below(10);
      if (roll === 0) continue;
      batchOf.push(roll === 1 ? mutator.next([datagram]) : datagram);
      if (roll === 2) batchOf.push(datagram);
    }
    return flattenPackets(batchOf);
  }, (flat) => {
    const packets = unflattenPackets(flat);
    const writes = batch(packets);
    const delivered: string[] = [];
    let supers = 0;
    for (const write of writes) {
      ensure(write.length <= COALESCE_BUFFER_BYTES, `a ${write.length}-byte write`);
      if (write[1] === 0) {
        delivered.push(packetKey(write.subarray(10)));
        continue;
      }
      supers++;
      for (const datagram of cut(write)) delivered.push(packetKey(datagram));
    }
    const sent = packets.map(packetKey);
    ensure(
      delivered.length === sent.length,
      `${sent.length} datagrams in, ${delivered.length} out`,
    );
    ensure(
      [...delivered].sort().join("|") === [...sent].sort().join("|"),
      "a datagram was changed, lost or duplicated",
    );
    // The flow's unmutated datagrams keep their order (repeats included).
    const inOrder = (list: string[]) => list.filter((k) => originals.has(k)).join("|");
    ensure(inOrder(delivered) === inOrder(sent), "the flow's datagrams were reordered");
    return supers > 0 ? "coalesced" : "plain";
  });
  ensure((outcomes.get("coalesced") ?? 0) > run.iterations / 4, "too few batches coalesced");
});
