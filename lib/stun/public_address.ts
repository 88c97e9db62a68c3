/**
 * Whether an address looks publicly routable: what a member must have for us to ask it for our
 * reflexive address (a member on our LAN or behind its own NAT would tell us nothing useful).
 * The documentation ranges (TEST-NET-1/2/3, 2001:db8::/32) count as public: they are the NAT
 * lab's "internet".
 */

/** True unless `address` (4 or 16 bytes) is private, shared, loopback, link-local or special. */
export function isPublicLooking(address: Uint8Array): boolean {
  if (address.length === 4) return publicIpv4(address);
  if (address.length !== 16) return false;
  const mapped = address.subarray(0, 10).every((b) => b === 0) && address[10] === 0xff &&
    address[11] === 0xff;
  if (mapped) return publicIpv4(address.subarray(12));
  if (address.every((b, i) => i === 15 ? b <= 1 : b === 0)) return false; // :: and ::1
  if ((address[0] & 0xfe) === 0xfc) return false; // fc00::/7 unique local
  if (address[0] === 0xfe && (address[1] & 0xc0) === 0x80) return false; // fe80::/10
  if (address[0] === 0xff) return false; // multicast
  return true;
}

function publicIpv4(a: Uint8Array): boolean {
  const [x, y] = a;
  if (x === 0 || x === 10 || x === 127 || x >= 224) return false;
  if (x === 100 && (y & 0xc0) === 64) return false; // 100.64.0.0/10 carrier-grade NAT
  if (x === 169 && y === 254) return false;
  if (x === 172 && (y & 0xf0) === 16) return false;
  if (x === 192 && y === 168) return false;
  return true;
}
