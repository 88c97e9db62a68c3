/**
 * What a policy needs from an inner IPv4/IPv6 packet, read in place and without allocation:
 * the transport protocol, the ports, TCP's SYN/ACK, and fragmentation. IPv6 extension headers
 * (hop-by-hop, routing, destination options, fragment, AH, and the mobility/HIP/shim6 ones that
 * share their length layout) are walked, at most 8 of them; ESP and anything truncated or past
 * that walk is "unknown protocol, no port" and so matches only `all`-port rules (the default,
 * in practice). A later fragment (offset ≠ 0) has no ports: the gate lets it follow its first
 * fragment's verdict (`policy_gate.ts`).
 */

/** ICMP's protocol number. */
export const IP_PROTOCOL_ICMP = 1;
/** ICMPv6's protocol number. */
export const IP_PROTOCOL_ICMPV6 = 58;
/** The IPv6 "no next header" value; also what the classifier reports when it gave up. */
const NO_NEXT_HEADER = 59;
/** Extension headers walked before the packet counts as unclassifiable. */
const MAX_EXTENSION_HEADERS = 8;

/** The fields of one packet, overwritten by every `classify` (one instance per worker). */
export class PacketClass {
  /** 4 or 6; 0 when the packet is not IP. */
  version = 0;
  /** Transport protocol (6 TCP, 17 UDP, 1/58 ICMP); NO_NEXT_HEADER when unknown. */
  protocol = 0;
  /** Ports, -1 when absent (other protocol, later fragment, truncated). */
  sourcePort = -1;
  destinationPort = -1;
  /** TCP flags byte (0 for others). */
  tcpFlags = 0;
  /** A fragment: 0 no, 1 the first (ports present), 2 a later one (no ports). */
  fragment = 0;
  /** The fragment identification (IPv4: 16 bits, IPv6: 32 bits). */
  fragmentId = 0;
  /** Where the source and destination addresses start, and their length (4 or 16). */
  sourceAt = 0;
  destinationAt = 0;
  addressLength = 0;

  /** Reads the packet of `length` bytes at `at` in `bytes`; false when it is not IPv4/IPv6. */
  classify(bytes: Uint8Array, at: number, length: number): boolean {
    this.protocol = NO_NEXT_HEADER;
    this.sourcePort = -1;
    this.destinationPort = -1;
    this.tcpFlags = 0;
    this.fragment = 0;
    this.fragmentId = 0;
    const end = at + length;
    const version = length > 0 ? bytes[at] >> 4 : 0;
    let transportAt: number;
    if (version === 4 && length >= 20) {
      this.version = 4;
      this.addressLength = 4;
      this.sourceAt = at + 12;
      this.destinationAt = at + 16;
      this.protocol = bytes[at + 9];
      const offset = ((bytes[at + 6] & 0x1f) << 8) | bytes[at + 7];
      const more = (bytes[at + 6] & 0x20) !== 0;
      if (offset !== 0 || more) {
        this.fragment = offset === 0 ? 1 : 2;
        this.fragmentId = (bytes[at + 4] << 8) | bytes[at + 5];
      }
      transportAt = at + (bytes[at] & 0x0f) * 4;
      if (this.fragment === 2) return true;
    } else if (version === 6 && length >= 40) {
      this.version = 6;
      this.addressLength = 16;
      this.sourceAt = at + 8;
      this.destinationAt = at + 24;
      let next = bytes[at + 6];
      let cursor = at + 40;
      for (let walked = 0;; walked++) {
        if (next === 6 || next === 17 || next === IP_PROTOCOL_ICMPV6) break;
        if (walked >= MAX_EXTENSION_HEADERS || cursor + 8 > end) {
          next = NO_NEXT_HEADER;
          break;
        }
        if (next === 44) {
          // Fragment header: next, reserved, offset<<3|M, identification (32 bits).
          const offset = (bytes[cursor + 2] << 5) | (bytes[cursor + 3] >> 3);
          const more = (bytes[cursor + 3] & 1) !== 0;
          this.fragmentId = ((bytes[cursor + 4] << 24) | (bytes[cursor + 5] << 16) |
            (bytes[cursor + 6] << 8) | bytes[cursor + 7]) >>> 0;
          if (offset !== 0 || more) this.fragment = offset === 0 ? 1 : 2;
          next = bytes[cursor];
          cursor += 8;
          if (this.fragment === 2) {
            this.protocol = next;
            return true;
          }
        } else if (
          next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140
        ) {
          const following = bytes[cursor];
          cursor += (bytes[cursor + 1] + 1) * 8;
          next = following;
        } else if (next === 51) {
          // AH counts its length in 4-byte units, minus 2.
          const following = bytes[cursor];
          cursor += (bytes[cursor + 1] + 2) * 4;
          next = following;
        } else {
          // ESP, no-next-header or a protocol we do not parse: no ports to check.
          break;
        }
      }
      this.protocol = next;
      transportAt = cursor;
    } else {
      this.version = 0;
      return false;
    }
    if ((this.protocol === 6 || this.protocol === 17) && transportAt + 4 <= end) {
      this.sourcePort = (bytes[transportAt] << 8) | bytes[transportAt + 1];
      this.destinationPort = (bytes[transportAt + 2] << 8) | bytes[transportAt + 3];
      if (this.protocol === 6 && transportAt + 14 <= end) this.tcpFlags = bytes[transportAt + 13];
    }
    return true;
  }
}

/** TCP's SYN flag. */
export const TCP_SYN = 0x02;
/** TCP's ACK flag. */
export const TCP_ACK = 0x10;
