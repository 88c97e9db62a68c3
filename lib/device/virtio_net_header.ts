/**
 * The `struct virtio_net_hdr` a TUN opened with IFF_VNET_HDR puts in front of every packet
 * (10 bytes, little-endian on x86_64): whether the kernel left a checksum for us to finish and
 * whether the packet is a GSO super-packet to be cut into `gsoSize`-byte segments.
 */

/** Bytes of the header in front of every packet read from or written to a vnet TUN. */
export const VIRTIO_NET_HEADER_SIZE = 10;
/** flags: the L4 checksum is partial; finish it over csum_start.. and store at +csum_offset. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** gso_type: an ordinary packet. */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** gso_type: TCP over IPv4 to be segmented. */
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** gso_type: TCP over IPv6 to be segmented. */
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** gso_type: UDP to be segmented into datagrams (USO). */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** gso_type bit: the segments carry ECN (CWR only on the first). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** The header's fields as read (a record reused by its reader, not allocated per packet). */
export interface VirtioNetHeader {
  flags: number;
  gsoType: number;
  headerLength: number;
  gsoSize: number;
  checksumStart: number;
  checksumOffset: number;
}

/** Reads the header at `at` into `into` (the caller checked that 10 bytes are there). */
export function readVirtioNetHeader(bytes: Uint8Array, at: number, into: VirtioNetHeader): void {
  into.flags = bytes[at];
  into.gsoType = bytes[at + 1];
  into.headerLength = bytes[at + 2] | (bytes[at + 3] << 8);
  into.gsoSize = bytes[at + 4] | (bytes[at + 5] << 8);
  into.checksumStart = bytes[at + 6] | (bytes[at + 7] << 8);
  into.checksumOffset = bytes[at + 8] | (bytes[at + 9] << 8);
}

/** Writes the header of an ordinary, fully checksummed packet (all zero) at `at`. */
export function writePlainVirtioNetHeader(bytes: Uint8Array, at: number): void {
  bytes.fill(0, at, at + VIRTIO_NET_HEADER_SIZE);
}

/** Writes a GSO header at `at`: the kernel segments `gsoSize`-byte payloads and checksums them. */
export function writeGsoVirtioNetHeader(
  bytes: Uint8Array,
  at: number,
  gsoType: number,
  headerLength: number,
  gsoSize: number,
  checksumStart: number,
  checksumOffset: number,
): void {
  bytes[at] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  bytes[at + 1] = gsoType;
  bytes[at + 2] = headerLength & 0xff;
  bytes[at + 3] = headerLength >>> 8;
  bytes[at + 4] = gsoSize & 0xff;
  bytes[at + 5] = gsoSize >>> 8;
  bytes[at + 6] = checksumStart & 0xff;
  bytes[at + 7] = checksumStart >>> 8;
  bytes[at + 8] = checksumOffset & 0xff;
  bytes[at + 9] = checksumOffset >>> 8;
}
