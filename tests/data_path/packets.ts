/** Inner packets for in-process device tests: IPv4/UDP with ports (a flow) and a numbered body. */

import { parseIpv4 } from "../../lib/net/ip_address.ts";

/** An IPv4/UDP packet `from:sourcePort → to:destinationPort` whose body starts with `id`. */
export function udpPacket(
  from: string,
  to: string,
  id: number,
  options: { sourcePort?: number; destinationPort?: number; body?: number } = {},
): Uint8Array {
  const body = Math.max(4, options.body ?? 32);
  const packet = new Uint8Array(28 + body);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45;
  view.setUint16(2, packet.length);
  packet[8] = 64;
  packet[9] = 17;
  packet.set(parseIpv4(from)!, 12);
  packet.set(parseIpv4(to)!, 16);
  view.setUint16(20, options.sourcePort ?? 40000);
  view.setUint16(22, options.destinationPort ?? 9);
  view.setUint16(24, 8 + body);
  view.setUint32(28, id);
  for (let i = 32; i < packet.length; i++) packet[i] = (id * 31 + i) & 0xff;
  return packet;
}
