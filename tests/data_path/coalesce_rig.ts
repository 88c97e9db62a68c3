/**
 * A TUN coalescer (TCP, and UDP when asked) over a fresh wasm core for tests: feed it one
 * batch of opened packets, get the writes it makes; the splitter cuts them back as the kernel
 * would. Also one UDP flow's datagrams as a host sends them.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { GsoSplitter } from "../../lib/device/gso_splitter.ts";
import { COALESCE_BUFFER_BYTES, TcpCoalescer } from "../../lib/device/tcp_coalescer.ts";
import type { TunQueue } from "../../lib/device/packet_io.ts";
import { superPacket, type SuperPacketOptions } from "./offload_packets.ts";

const SLOT = 1536;
const BATCH = 80;

/** A coalescer over a fresh core, the batch it takes, the writes it makes, and the splitter. */
export async function coalesceRig(
  udpSegmentation = true,
  /** The TUN refuses super-packets (as a kernel would with EINVAL). */
  refuseSuper = false,
) {
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
  let refused = 0;
  const queue: TunQueue = {
    read: () => 0,
    write(view, length) {
      if (refuseSuper && view[1] !== 0) {
        refused++;
        throw new Error("write(tun): Invalid argument");
      }
      writes.push(view.slice(0, length));
      return length;
    },
  };
  const coalescer = new TcpCoalescer(bytes, sum, views, [queue], bufferAt, udpSegmentation);
  const splitter = new GsoSplitter(bytes, sum);
  /** Cuts one vnet read (or write) into its packets, as the kernel would. */
  const cut = (read: Uint8Array): Uint8Array[] => {
    const out: Uint8Array[] = [];
    bytes.set(read, splitAt);
    if (!splitter.begin(splitAt, read.length, 1420)) throw new Error("a malformed super-packet");
    for (let n; (n = splitter.next(splitAt + 70_000)) > 0;) {
      out.push(bytes.slice(splitAt + 70_000, splitAt + 70_000 + n));
    }
    return out;
  };
  /** One batch: each packet opened into its slot, then the flush; returns the writes. */
  const batch = (packets: Uint8Array[]): Uint8Array[] => {
    writes.length = 0;
    packets.forEach((packet, slot) => {
      bytes.set(packet, views[slot].byteOffset + 10);
      coalescer.add(slot, views[slot].byteOffset + 10, packet.length, 0);
    });
    coalescer.flush();
    return [...writes];
  };
  return { coalescer, cut, batch, refused: () => refused };
}

/** Datagrams of one flow as a host sends them (ids counting up, checksums valid). */
export function udpFlow(
  cut: (read: Uint8Array) => Uint8Array[],
  options: SuperPacketOptions & { sourcePort?: number },
): Uint8Array[] {
  const read = superPacket({ udp: true, ...options });
  const ip = options.v6 ? 40 : 20;
  if (options.sourcePort !== undefined) {
    read[10 + ip] = options.sourcePort >>> 8;
    read[10 + ip + 1] = options.sourcePort & 0xff;
  }
  return cut(read);
}
