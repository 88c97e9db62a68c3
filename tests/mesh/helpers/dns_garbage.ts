/**
 * Malformed DNS for the mesh resolver test, run inside a node's namespace:
 *   dns_garbage.ts <udp address> <tcp address> <count>
 * sends <count> UDP datagrams to <udp address>:53 (random bytes; real queries with random bytes
 * overwritten, cut short or extended; header-only and response-flagged messages), then opens a
 * few TCP connections with a lying length prefix, garbage and a half-sent frame. Prints
 * "sent <count>". Then holds 10 TCP connections at once and asks a real query on each; prints
 * "tcp answered <n> of 10" (the server serves at most 8 per source).
 */

import { createSocket } from "node:dgram";

// Two addresses: the flood empties the UDP source's rate bucket, and the TCP checks below come
// from the other address family, so they are not starved by it.
const [address, tcpAddress, countText] = Deno.args;
const count = Number(countText);
if (!address || !tcpAddress || !Number.isInteger(count)) {
  console.error("usage: dns_garbage.ts <udp address> <tcp address> <count>");
  Deno.exit(2);
}

const QUERY = Uint8Array.of(
  0x12,
  0x34,
  0x01,
  0x00,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  0,
  5,
  ...new TextEncoder().encode("node1"),
  4,
  ...new TextEncoder().encode("mesh"),
  0,
  0,
  1,
  0,
  1,
);

function random(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function shape(i: number): Uint8Array {
  switch (i % 5) {
    case 0:
      return random(1 + (i % 600));
    case 1: {
      const bytes = QUERY.slice();
      for (let k = 0; k < 1 + (i % 4); k++) bytes[(i * 7 + k * 13) % bytes.length] = random(1)[0];
      return bytes;
    }
    case 2:
      return QUERY.slice(0, i % QUERY.length);
    case 3: {
      const bytes = new Uint8Array(QUERY.length + 40);
      bytes.set(QUERY);
      bytes.set(random(40), QUERY.length);
      bytes[11] = 1 + (i % 3); // ARCOUNT claims records made of garbage
      return bytes;
    }
    default: {
      const bytes = QUERY.slice();
      bytes[2] |= 0x80; // a "response": must never be answered
      return bytes;
    }
  }
}

const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
socket.on("error", () => {});
for (let i = 0; i < count; i++) {
  await new Promise<void>((resolve) => socket.send(shape(i), 53, address, () => resolve()));
}
socket.close();

for (const frame of [Uint8Array.of(0xff, 0xff, 1, 2, 3), Uint8Array.of(0, 40, 1), random(300)]) {
  try {
    const conn = await Deno.connect({ hostname: tcpAddress, port: 53 });
    await conn.write(frame).catch(() => {});
    conn.close();
  } catch {
    // A refused or reset connection is an answer too.
  }
}
console.log(`sent ${count}`);

const held: Deno.TcpConn[] = [];
for (let i = 0; i < 10; i++) held.push(await Deno.connect({ hostname: tcpAddress, port: 53 }));
let answered = 0;
for (const conn of held) {
  const framed = new Uint8Array(2 + QUERY.length);
  framed[1] = QUERY.length;
  framed.set(QUERY, 2);
  try {
    await conn.write(framed);
    const reply = new Uint8Array(512);
    // A refused connection was closed by the server: EOF or a reset, never a hang.
    const read = await conn.read(reply);
    if (read !== null && read >= 14 && reply[2] === 0x12 && reply[3] === 0x34) answered++;
  } catch {
    // reset: refused
  }
}
for (const conn of held) conn.close();
console.log(`tcp answered ${answered} of 10`);
