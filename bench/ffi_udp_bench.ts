/**
 * Per-packet cost of ffi/udp_socket.ts batches on loopback: 1400-byte datagrams sent from and
 * received into WebAssembly.Memory views, in batches of 1, 32 and 64. Every iteration moves 64
 * datagrams, so divide the reported time by 64 for ns per packet. "send" times sendBatch only
 * (the receiver is drained untimed); "receive" times receiveBatch only (the queue is filled
 * untimed). Root only (SO_RCVBUFFORCE keeps a full batch queued without drops); otherwise
 * skipped.
 *
 * Run: deno bench --allow-ffi --allow-read --allow-sys=uid bench/ffi_udp_bench.ts
 */

import { datagramSlots, UdpSocket } from "../ffi/udp_socket.ts";

const PACKETS = 64;
const SIZE = 1400;
const SLOT = 2048;
const BATCHES = [1, 32, 64];

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

const canRun = granted({ name: "ffi" }) && granted({ name: "sys", kind: "uid" }) &&
  Deno.uid() === 0;

if (!canRun) {
  console.log("ffi_udp_bench skipped: needs root and --allow-ffi --allow-sys=uid");
} else {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const views = (base: number) =>
    Array.from({ length: PACKETS }, (_, i) => new Uint8Array(memory.buffer, base + i * SLOT, SLOT));
  const loopback = new Uint8Array([127, 0, 0, 1]);
  const receiver = UdpSocket.open({ address: loopback, receiveBufferBytes: 8 << 20 });
  const sender = UdpSocket.open({ address: loopback, sendBufferBytes: 8 << 20 });
  const tx = datagramSlots(views(0));
  for (const [i, slot] of tx.entries()) {
    slot.view.fill(i);
    slot.length = SIZE;
    slot.address = loopback;
    slot.port = receiver.port;
  }
  const rx = datagramSlots(views(PACKETS * SLOT));

  /** Sends the 64 datagrams in batches of `batch`. */
  const send = (batch: number) => {
    for (let at = 0; at < PACKETS; at += batch) {
      const chunk = tx.slice(at, at + batch); // untimed cost is negligible next to a syscall
      if (sender.sendBatch(chunk, batch, 1000) !== batch) throw new Error("send stalled");
    }
  };
  /** Receives the 64 datagrams in batches of at most `batch`. */
  const receive = (batch: number) => {
    const slots = rx.slice(0, batch);
    for (let got = 0; got < PACKETS;) {
      const count = receiver.receiveBatch(slots, 1000, Math.min(batch, PACKETS - got));
      if (count === 0) throw new Error("receive timed out: datagrams were dropped");
      got += count;
    }
  };

  for (const batch of BATCHES) {
    Deno.bench(`send 64 × ${SIZE} B, sendBatch of ${batch}`, { group: "send" }, (b) => {
      b.start();
      send(batch);
      b.end();
      receive(64);
    });
  }
  for (const batch of BATCHES) {
    Deno.bench(`receive 64 × ${SIZE} B, receiveBatch of ${batch}`, { group: "receive" }, (b) => {
      send(64);
      b.start();
      receive(batch);
      b.end();
    });
  }
  globalThis.addEventListener("unload", () => {
    sender.close();
    receiver.close();
  });
}
