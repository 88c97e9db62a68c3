/**
 * A test-only STUN (RFC 8489) Binding codec for the NAT lab's probes: it builds a bare Binding
 * request and reads the mapped address out of a success response (XOR-MAPPED-ADDRESS, its
 * pre-standard 0x8020 code point, or MAPPED-ADDRESS). IPv4 only: the lab is IPv4. The lab does
 * not depend on the daemon's own STUN code, so a bug there cannot hide behind a lab built on it.
 */

const HEADER_BYTES = 20;
const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const MAPPED_ADDRESS = 0x0001;
const XOR_MAPPED_ADDRESS = 0x0020;
const XOR_MAPPED_ADDRESS_OLD = 0x8020;
const FAMILY_IPV4 = 0x01;

/** A Binding request with a fresh random 96-bit transaction ID and no attributes. */
export function bindingRequest(): { bytes: Uint8Array; transactionId: Uint8Array } {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint16(2, 0);
  view.setUint32(4, MAGIC_COOKIE);
  const transactionId = crypto.getRandomValues(new Uint8Array(12));
  bytes.set(transactionId, 8);
  return { bytes, transactionId };
}

/** Whether `datagram` starts like a STUN message (top bits zero, magic cookie in place). */
export function looksLikeStun(datagram: Uint8Array): boolean {
  if (datagram.length < HEADER_BYTES || (datagram[0] & 0xc0) !== 0) return false;
  return new DataView(datagram.buffer, datagram.byteOffset).getUint32(4) === MAGIC_COOKIE;
}

/**
 * The mapped `ip:port` of a Binding success response to `transactionId`, or null when the
 * datagram is anything else (another message, another transaction, no address attribute).
 */
export function mappedAddress(datagram: Uint8Array, transactionId: Uint8Array): string | null {
  if (!looksLikeStun(datagram)) return null;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  if (view.getUint16(0) !== BINDING_SUCCESS) return null;
  for (let i = 0; i < 12; i++) if (datagram[8 + i] !== transactionId[i]) return null;
  const end = HEADER_BYTES + view.getUint16(2);
  if (end > datagram.length) return null;
  let plain: string | null = null;
  for (let offset = HEADER_BYTES; offset + 4 <= end;) {
    const type = view.getUint16(offset);
    const length = view.getUint16(offset + 2);
    const value = offset + 4;
    if (value + length > end) return null;
    if (length >= 8 && view.getUint8(value + 1) === FAMILY_IPV4) {
      const port = view.getUint16(value + 2);
      const ip = view.getUint32(value + 4);
      if (type === XOR_MAPPED_ADDRESS || type === XOR_MAPPED_ADDRESS_OLD) {
        return format((ip ^ MAGIC_COOKIE) >>> 0, port ^ (MAGIC_COOKIE >>> 16));
      }
      if (type === MAPPED_ADDRESS) plain = format(ip, port);
    }
    offset = value + Math.ceil(length / 4) * 4;
  }
  return plain;
}

function format(ip: number, port: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}:${port}`;
}
