/**
 * The attacker of the forged-SWIM flood bench (bench/swim_flood.ts), run inside its namespace:
 *   swim_flood_sender.ts <victim ip> <victim port> <listen port> <trusted key b64> <rate> <seconds>
 * First it learns the victim's boot epoch from one of the victim's own SWIM datagrams (the
 * bench mirrors them to <listen port>, as an on-path observer sees them), then it sends forged
 * datagrams for <seconds> at <rate> per second: a well-formed header claiming the trusted key,
 * the victim's epoch as receiver epoch, fresh counters above any real one, and junk ciphertext,
 * so each passes every check membership makes before the AEAD. Prints "epoch <n>", "flooding",
 * and at the end "sent <count> in <seconds> s".
 */

import { datagramSlots, UdpSocket } from "../ffi/udp_socket.ts";

const [victim, portText, listenText, keyText, rateText, secondsText] = Deno.args;
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
const key = Uint8Array.from(atob(keyText ?? ""), (c) => c.charCodeAt(0));
const victimAddress = new Uint8Array((victim ?? "").split(".").map(Number));
if (
  victimAddress.length !== 4 || !Number.isInteger(port) || key.length !== 32 || !(rate > 0) ||
  !(seconds > 0)
) {
  console.error("usage: swim_flood_sender.ts <ip> <port> <listen port> <key> <rate> <seconds>");
  Deno.exit(2);
}

const BATCH = 256;
const socket = UdpSocket.open({
  port: Number(listenText),
  sendBufferBytes: 4 << 20,
  batchSize: BATCH,
});
const buffer = new Uint8Array(2048);
let epoch = 0n;
const learnBy = performance.now() + 30_000;
while (epoch === 0n) {
  const left = learnBy - performance.now();
  if (left <= 0) {
    console.error("no SWIM datagram from the victim within 30 s");
    Deno.exit(1);
  }
  const got = socket.receiveFrom(buffer, Math.ceil(left));
  if (got === null || got.length < 64 || buffer[1] !== 1 || buffer[2] !== 0x6d) continue;
  epoch = new DataView(buffer.buffer).getBigUint64(8, true);
}
console.log(`epoch ${epoch}`);

const POOL = 1024;
const views = Array.from({ length: POOL }, () => new Uint8Array(256));
const types = [0x01, 0x02, 0x03, 0x06, 0x08];
const senderEpoch = BigInt(Date.now());
for (const [i, bytes] of views.entries()) {
  crypto.getRandomValues(bytes);
  const view = new DataView(bytes.buffer);
  bytes[0] = types[i % types.length];
  bytes[1] = 1;
  bytes.set([0x6d, 0x67, 0x73, 0x77], 2);
  bytes[6] = bytes[7] = 0;
  view.setBigUint64(8, senderEpoch, true);
  view.setBigUint64(16, epoch, true);
  // Far above any counter the real sender used: the replay window lets each one through.
  view.setBigUint64(24, (1n << 40n) + BigInt(i) * 7919n, true);
  bytes.set(key, 32);
}
const slots = datagramSlots(views);
for (const [i, slot] of slots.entries()) {
  slot.length = 120 + (i % 8) * 16;
  slot.address = victimAddress;
  slot.port = port;
}

console.log("flooding");
const started = performance.now();
const pause = new Int32Array(new SharedArrayBuffer(4));
let sent = 0;
let next = 0;
for (;;) {
  const elapsed = (performance.now() - started) / 1000;
  if (elapsed >= seconds) break;
  const due = Math.floor(elapsed * rate);
  if (sent >= due) {
    Atomics.wait(pause, 0, 0, 1); // pacing: about a millisecond
    continue;
  }
  const count = Math.min(BATCH, due - sent, POOL - next);
  try {
    sent += socket.sendBatch(slots.slice(next, next + count), count, 100);
  } catch {
    // A full queue drops datagrams, as a real sender's would be.
  }
  next = (next + count) % POOL;
}
const took = (performance.now() - started) / 1000;
socket.close();
console.log(`sent ${sent} in ${took.toFixed(1)} s`);
