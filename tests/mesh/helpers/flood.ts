/**
 * A hostile sender for the mesh tests, run inside an untrusted node's namespace:
 *   flood.ts <address> <port> <count> <ed25519 key>[,<key>…]
 * sends <count> UDP datagrams to <address>:<port>, cycling through shapes a real attacker would
 * try: random bytes; WireGuard-looking initiations (type 1, 148 bytes), responses, cookie replies
 * and transport messages with random contents; SWIM-looking datagrams (correct header, version and
 * magic) claiming each given key as sender, with random epochs and garbage bodies; and Hellos with
 * garbage signatures. Prints "sent <count>" at the end.
 */

import { Buffer } from "node:buffer";
import { createSocket } from "node:dgram";

const [address, portText, countText, keysText] = Deno.args;
const port = Number(portText);
const count = Number(countText);
const keys = (keysText ?? "").split(",").filter((key) => key !== "").map((key) =>
  Uint8Array.from(atob(key), (character) => character.charCodeAt(0))
);
if (!address || !Number.isInteger(port) || !Number.isInteger(count) || keys.length === 0) {
  console.error("usage: flood.ts <address> <port> <count> <ed25519 key>[,<key>…]");
  Deno.exit(2);
}

function random(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  // getRandomValues fills at most 65,536 bytes per call; datagrams here stay far below that.
  crypto.getRandomValues(bytes);
  return bytes;
}

/** A WireGuard message of `type` and `length` with random contents (MAC1 cannot verify). */
function wireguardLooking(type: number, length: number): Uint8Array {
  const bytes = random(length);
  bytes.set([type, 0, 0, 0], 0);
  return bytes;
}

/** A SWIM datagram with a well-formed header claiming `sender`, and a garbage body. */
function swimLooking(type: number, sender: Uint8Array, bodyLength: number): Uint8Array {
  const bytes = random(64 + bodyLength);
  const view = new DataView(bytes.buffer);
  bytes[0] = type;
  bytes[1] = 1; // version
  bytes.set([0x6d, 0x67, 0x73, 0x77], 2); // "mgsw"
  view.setUint16(6, 0, true); // reserved
  view.setBigUint64(8, BigInt(1 + Math.floor(Math.random() * 2 ** 40)), true); // sender epoch
  view.setBigUint64(16, type === 5 ? 0n : BigInt(Math.floor(Math.random() * 2 ** 40)), true);
  view.setBigUint64(24, BigInt(Math.floor(Math.random() * 2 ** 32)), true); // counter
  bytes.set(sender, 32);
  return bytes;
}

function datagram(i: number): Uint8Array {
  const key = keys[i % keys.length];
  switch (i % 8) {
    case 0:
      return random(1 + Math.floor(Math.random() * 1400));
    case 1:
      return wireguardLooking(1, 148);
    case 2:
      return wireguardLooking(2, 92);
    case 3:
      return wireguardLooking(3, 64);
    case 4:
      return wireguardLooking(4, 32 + 16 * Math.floor(Math.random() * 60));
    case 5:
      return swimLooking(5, key, 114 + 7 + 64); // Hello: alive record with one endpoint, signature
    case 6:
      return swimLooking(
        1 + Math.floor(Math.random() * 4),
        key,
        40 + Math.floor(Math.random() * 200),
      );
    default:
      return swimLooking(
        6 + Math.floor(Math.random() * 3),
        key,
        16 + Math.floor(Math.random() * 900),
      );
  }
}

const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
for (let i = 0; i < count; i++) {
  // Unpaced on purpose: a burst is what the receiver's rate limits and queues must survive.
  await new Promise<void>((resolve, reject) =>
    socket.send(
      Buffer.from(datagram(i)),
      port,
      address,
      (error) => error ? reject(error) : resolve(),
    )
  );
}
socket.close();
console.log(`sent ${count}`);
