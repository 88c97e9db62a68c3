// The Internet checksum (RFC 1071) over bytes in linear memory, for the TUN offloads: the
// segments split from a super-packet and partially checksummed packets need their TCP/UDP
// checksums finished in the worker. Words are loaded little-endian, eight bytes at a time, and
// the folded sum is byte-swapped once at the end (the ones' complement sum is byte-order
// independent up to that swap, RFC 1071 §2(B)).

/** Folded 16-bit ones' complement sum (big-endian value, not inverted) of `len` bytes at `data`. */
export function checksumSumCore(data: usize, len: u32): u32 {
  let sum: u64 = 0;
  let at = data;
  const end = data + <usize> len;
  // Two 32-bit halves per 8-byte load: each addition stays far below 2^64 for any u32 length.
  while (at + 8 <= end) {
    const word = load<u64>(at);
    sum += (word & 0xffffffff) + (word >> 32);
    at += 8;
  }
  if (at + 4 <= end) {
    sum += <u64> load<u32>(at);
    at += 4;
  }
  if (at + 2 <= end) {
    sum += <u64> load<u16>(at);
    at += 2;
  }
  // An odd last byte is the high byte of a big-endian word: the low byte when loaded LE.
  if (at < end) sum += <u64> load<u8>(at);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  const folded = <u32> sum;
  return ((folded & 0xff) << 8) | (folded >> 8);
}
