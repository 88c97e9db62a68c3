/**
 * Which TUN queue a decrypted packet is written to. The kernel's TUN "automq" sends each flow's
 * outbound packets to the queue its inbound packets were last written on, so this choice decides
 * which data worker seals the flow. All of one peer's datagrams reach one worker's socket (one UDP
 * 4-tuple, one SO_REUSEPORT pick); writing by flow hash instead of always on that worker's own
 * queue spreads the encryption of many flows over all workers.
 */

/**
 * The queue (0..queues-1) for the IPv4 or IPv6 packet of `length` bytes at `at` in `bytes`:
 * a hash of addresses, protocol and (for TCP, UDP, SCTP without IPv6 extension headers) ports.
 * The same flow always gets the same queue, whichever direction it is seen in.
 */
export function flowQueue(bytes: Uint8Array, at: number, length: number, queues: number): number {
  if (queues <= 1 || length < 20) return 0;
  const version = bytes[at] >> 4;
  let hash: number;
  let protocol: number;
  let portsAt: number;
  if (version === 4) {
    hash = word(bytes, at + 12) ^ word(bytes, at + 16);
    protocol = bytes[at + 9];
    portsAt = at + (bytes[at] & 0x0f) * 4;
    // A fragment after the first has no ports: hash all fragments by addresses only.
    if ((bytes[at + 6] & 0x1f) !== 0 || bytes[at + 7] !== 0) portsAt = -1;
  } else if (version === 6 && length >= 40) {
    hash = 0;
    for (let i = 8; i < 40; i += 4) hash ^= word(bytes, at + i);
    protocol = bytes[at + 6];
    portsAt = at + 40;
  } else {
    return 0;
  }
  if (
    portsAt >= 0 && portsAt + 4 <= at + length &&
    (protocol === 6 || protocol === 17 || protocol === 132)
  ) {
    // XOR of the two ports keeps the hash the same in both directions.
    hash ^= ((bytes[portsAt] << 8) | bytes[portsAt + 1]) ^
      ((bytes[portsAt + 2] << 8) | bytes[portsAt + 3]);
  }
  hash = Math.imul(hash ^ protocol ^ (hash >>> 16), 0x45d9f3b);
  hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return Math.floor(((hash ^ (hash >>> 16)) >>> 0) / 0x1_0000_0000 * queues);
}

function word(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
}
