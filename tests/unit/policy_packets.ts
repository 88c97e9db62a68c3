/** Inner packets for the policy tests: IPv4/IPv6 TCP, UDP, ICMP, fragments, extension headers. */

import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";

/** What a test packet looks like. */
export interface PacketSpec {
  from: string;
  to: string;
  /** 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or another number. */
  protocol: number;
  sourcePort?: number;
  destinationPort?: number;
  /** TCP flags (default ACK). */
  flags?: number;
  /** IPv4: fragment offset in 8-byte units and more-fragments; IPv6: a fragment header. */
  fragment?: { offset: number; more: boolean; id: number };
  /** IPv6 extension headers (hop-by-hop 0, routing 43, destination options 60) before the rest. */
  extensions?: number[];
  body?: number;
}

/** Builds the packet; IPv6 when `from` has a colon. */
export function policyPacket(spec: PacketSpec): Uint8Array {
  const v6 = spec.from.includes(":");
  const transport = transportBytes(spec);
  const later = spec.fragment !== undefined && spec.fragment.offset !== 0;
  const payload = later ? new Uint8Array(16).fill(0xab) : transport;
  if (!v6) {
    const packet = new Uint8Array(20 + payload.length);
    const view = new DataView(packet.buffer);
    packet[0] = 0x45;
    view.setUint16(2, packet.length);
    if (spec.fragment) {
      view.setUint16(4, spec.fragment.id);
      view.setUint16(6, (spec.fragment.more ? 0x2000 : 0) | spec.fragment.offset);
    }
    packet[8] = 64;
    packet[9] = spec.protocol;
    packet.set(parseIpv4(spec.from)!, 12);
    packet.set(parseIpv4(spec.to)!, 16);
    packet.set(payload, 20);
    return packet;
  }
  const headers: number[][] = [];
  const chain = [...(spec.extensions ?? [])];
  if (spec.fragment) chain.push(44);
  for (let i = 0; i < chain.length; i++) {
    const next = i + 1 < chain.length ? chain[i + 1] : spec.protocol;
    if (chain[i] === 44) {
      const f = spec.fragment!;
      const word = (f.offset << 3) | (f.more ? 1 : 0);
      headers.push([
        next,
        0,
        word >> 8,
        word & 0xff,
        (f.id >>> 24) & 0xff,
        (f.id >> 16) & 0xff,
        (f.id >> 8) & 0xff,
        f.id & 0xff,
      ]);
    } else {
      headers.push([next, 0, 1, 4, 0, 0, 0, 0]); // 8 bytes of options (PadN)
    }
  }
  const extension = headers.flat();
  const packet = new Uint8Array(40 + extension.length + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x60;
  view.setUint16(4, extension.length + payload.length);
  packet[6] = chain.length > 0 ? chain[0] : spec.protocol;
  packet[7] = 64;
  packet.set(parseIpv6(spec.from)!, 8);
  packet.set(parseIpv6(spec.to)!, 24);
  packet.set(extension, 40);
  packet.set(payload, 40 + extension.length);
  return packet;
}

function transportBytes(spec: PacketSpec): Uint8Array {
  const body = spec.body ?? 8;
  if (spec.protocol === 6) {
    const tcp = new Uint8Array(20 + body);
    const view = new DataView(tcp.buffer);
    view.setUint16(0, spec.sourcePort ?? 40000);
    view.setUint16(2, spec.destinationPort ?? 80);
    tcp[12] = 5 << 4;
    tcp[13] = spec.flags ?? 0x10;
    return tcp;
  }
  if (spec.protocol === 17) {
    const udp = new Uint8Array(8 + body);
    const view = new DataView(udp.buffer);
    view.setUint16(0, spec.sourcePort ?? 40000);
    view.setUint16(2, spec.destinationPort ?? 53);
    view.setUint16(4, udp.length);
    return udp;
  }
  return new Uint8Array(8 + body); // ICMP echo-ish or anything else
}
