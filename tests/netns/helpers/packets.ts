/** Hand-built IPv4/IPv6 UDP packets for TUN tests, and the payload pattern the batch tests check. */

function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i] << 8) | (i + 1 < end ? bytes[i + 1] : 0);
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet carrying one UDP datagram (header checksum set; UDP checksum 0 = none). */
export function ipv4UdpPacket(
  source: Uint8Array,
  destination: Uint8Array,
  sourcePort: number,
  destinationPort: number,
  payload: Uint8Array,
): Uint8Array {
  const packet = new Uint8Array(28 + payload.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45; // version 4, 20-byte header
  view.setUint16(2, packet.length);
  packet[8] = 64; // TTL
  packet[9] = 17; // UDP
  packet.set(source, 12);
  packet.set(destination, 16);
  view.setUint16(10, fold(sum16(packet, 0, 20)));
  view.setUint16(20, sourcePort);
  view.setUint16(22, destinationPort);
  view.setUint16(24, 8 + payload.length);
  packet.set(payload, 28);
  return packet;
}

/** An IPv6 packet carrying one UDP datagram (the UDP checksum is mandatory over IPv6). */
export function ipv6UdpPacket(
  source: Uint8Array,
  destination: Uint8Array,
  sourcePort: number,
  destinationPort: number,
  payload: Uint8Array,
): Uint8Array {
  const udpLength = 8 + payload.length;
  const packet = new Uint8Array(40 + udpLength);
  const view = new DataView(packet.buffer);
  packet[0] = 0x60;
  view.setUint16(4, udpLength);
  packet[6] = 17;
  packet[7] = 64; // hop limit
  packet.set(source, 8);
  packet.set(destination, 24);
  view.setUint16(40, sourcePort);
  view.setUint16(42, destinationPort);
  view.setUint16(44, udpLength);
  packet.set(payload, 48);
  // Pseudo-header: addresses, upper-layer length, next header; then the UDP header and data.
  let sum = sum16(packet, 8, 40);
  sum += udpLength + 17;
  sum = sum16(packet, 40, packet.length, sum);
  const checksum = fold(sum);
  view.setUint16(46, checksum === 0 ? 0xffff : checksum);
  return packet;
}

/** Destination address, protocol and payload of an IPv4/IPv6 packet (no extension headers). */
export function parseIpPacket(packet: Uint8Array): {
  version: number;
  destination: Uint8Array;
  protocol: number;
  destinationPort: number;
  payload: Uint8Array;
} {
  const version = packet[0] >> 4;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (version === 4) {
    const headerLength = (packet[0] & 0x0f) * 4;
    return {
      version,
      destination: packet.slice(16, 20),
      protocol: packet[9],
      destinationPort: view.getUint16(headerLength + 2),
      payload: packet.slice(headerLength + 8, view.getUint16(2)),
    };
  }
  return {
    version,
    destination: packet.slice(24, 40),
    protocol: packet[6],
    destinationPort: view.getUint16(42),
    payload: packet.slice(48, 40 + view.getUint16(4)),
  };
}

/** Length of batch datagram `index` (varied so a mix-up between slots shows). */
export function patternLength(index: number): number {
  return 64 + ((index * 37) % 1337);
}

/** Byte `offset` of batch datagram `index` from a sender tagged `seed`. */
export function patternByte(seed: number, index: number, offset: number): number {
  return (seed * 131 + index * 31 + offset * 7) & 0xff;
}
