/**
 * UDP GRO behind a relay edge (issue 13): a relay forwards each frame on its own, the receiving
 * socket packs same-size frames from the relay into one GRO slot, and the data path unwraps each
 * segment as its own relay frame (its own virtual source). Every packet reaches the host once,
 * intact; frames of a second relayed peer and the relay's own datagrams may share those slots.
 * And at the relay, GRO slots of frames to forward leave in one batch send per receive batch.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { RelayEndpoints, virtualRelayEndpoint } from "../../lib/relay/relay_endpoints.ts";
import { RelayTable } from "../../lib/relay/relay_table.ts";
import { DeviceLab, type InProcessDevice } from "./in_process_device.ts";
import { udpPacket } from "./packets.ts";

const [A, B, C] = ["10.99.0.1", "10.99.0.2", "10.99.0.3"];
const RELAY = "192.0.2.3:51820";

const mapped = (v4: string) => {
  const out = new Uint8Array(16);
  out.set([0xff, 0xff], 10);
  out.set(v4.split(".").map(Number), 12);
  return out;
};

/** Points `self`'s peer `other` at `endpoint` (UAPI). */
function setEndpoint(self: InProcessDevice, other: InProcessDevice, endpoint: string): void {
  const answer = self.answer(
    `set=1\npublic_key=${encodeHex(other.engine.publicKey)}\nendpoint=${endpoint}\n\n`,
  );
  if (answer !== "errno=0\n\n") throw new Error(`UAPI set failed: ${answer}`);
}

Deno.test("relay with UDP GRO: coalesced relay frames from two relayed peers are each unwrapped and delivered once, intact", async () => {
  const lab = new DeviceLab(21);
  const a = await lab.add("192.0.2.1:51820", { workers: 1 });
  const c = await lab.add("192.0.2.4:51820", { workers: 1 });
  const b = await lab.add("192.0.2.2:51820", {
    workers: 1,
    vnetHeader: true,
    receiveCoalescing: true,
  });
  const r = await lab.add(RELAY, { workers: 1 });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  lab.pair(c, b, [`${C}/32`], [`${B}/32`]);
  // Relay ids: any 8 bytes each side agrees on (the mesh uses the Ed25519 keys' first 8).
  const id = (fill: number) => new Uint8Array(32).fill(fill);
  const table = new RelayTable({}, 1);
  table.setMembers([
    { key: id(0xa1), ip: mapped("192.0.2.1"), port: 51820 },
    { key: id(0xb2), ip: mapped("192.0.2.2"), port: 51820 },
    { key: id(0xc3), ip: mapped("192.0.2.4"), port: 51820 },
  ]);
  r.useRelay(new RelayEndpoints(), table);
  const relayIp = mapped("192.0.2.3");
  for (const self of [a, c]) {
    const mine = new RelayEndpoints();
    self.useRelay(mine, null);
    setEndpoint(self, b, virtualRelayEndpoint(mine.bind(relayIp, 51820, id(0xb2))));
  }
  const bEnds = new RelayEndpoints();
  b.useRelay(bEnds, null);
  setEndpoint(b, a, virtualRelayEndpoint(bEnds.bind(relayIp, 51820, id(0xa1))));
  setEndpoint(b, c, virtualRelayEndpoint(bEnds.bind(relayIp, 51820, id(0xc3))));
  // Handshakes (through the relay) first.
  a.tun.send(udpPacket(A, B, 1));
  c.tun.send(udpPacket(C, B, 2));
  lab.settle();
  assertEquals(b.tun.packets().length, 2, "both first packets came through the relay");
  const before = b.tun.packets().length;
  const unwrappedBefore = b.relaySockets[0].stats.unwrapped;
  // Same-size packets from both peers, interleaved: the relay sends them to b one by one, all
  // from its address, so b's socket packs them into GRO slots regardless of the peer.
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const fromA = udpPacket(A, B, 100 + i, { body: 1000 });
    const fromC = udpPacket(C, B, 200 + i, { body: 1000 });
    a.tun.send(fromA);
    c.tun.send(fromC);
    sent.push(fromA, fromC);
  }
  let packed = 0;
  const socket = b.sockets[0];
  const receive = socket.receiveBatch.bind(socket);
  socket.receiveBatch = (slots) => {
    const n = receive(slots);
    for (let i = 0; i < n; i++) if (slots[i].segmentSize > 0) packed++;
    return n;
  };
  lab.settle();
  const got = b.tun.packets().slice(before).map((w) => [...w.subarray(10)].join(","));
  assertTrue(packed > 0, "no GRO slot was packed: the test proves nothing");
  assertEquals(got.length, sent.length, "every packet once");
  assertEquals(
    new Set(got),
    new Set(sent.map((p) => [...p].join(","))),
    "each packet intact",
  );
  assertEquals(b.relaySockets[0].stats.unwrapped - unwrappedBefore, sent.length);
});

Deno.test("relay forwarding: a relay sends the frames of one receive batch (GRO slots included) with one batch send, never a sendto each", async () => {
  const lab = new DeviceLab(22);
  const a = await lab.add("192.0.2.1:51820", { workers: 1 });
  const b = await lab.add("192.0.2.2:51820", { workers: 1 });
  const r = await lab.add(RELAY, { workers: 1, receiveCoalescing: true });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  const id = (fill: number) => new Uint8Array(32).fill(fill);
  const table = new RelayTable({}, 1);
  table.setMembers([
    { key: id(0xa1), ip: mapped("192.0.2.1"), port: 51820 },
    { key: id(0xb2), ip: mapped("192.0.2.2"), port: 51820 },
  ]);
  r.useRelay(new RelayEndpoints(), table);
  const relayIp = mapped("192.0.2.3");
  const aEnds = new RelayEndpoints();
  a.useRelay(aEnds, null);
  setEndpoint(a, b, virtualRelayEndpoint(aEnds.bind(relayIp, 51820, id(0xb2))));
  const bEnds = new RelayEndpoints();
  b.useRelay(bEnds, null);
  setEndpoint(b, a, virtualRelayEndpoint(bEnds.bind(relayIp, 51820, id(0xa1))));
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  assertEquals(b.tun.packets().length, 1, "the handshake and first packet came through the relay");
  const before = b.tun.packets().length;
  const forwardedBefore = r.relaySockets[0].stats.forwarded;

  const isRelayFrame = (view: Uint8Array) => view[0] === 0x6d && view[1] === 0x67;
  const socket = r.sockets[0];
  let batches = 0;
  let framesInBatches = 0;
  let singleSends = 0;
  let inBatch = false;
  let packedSlots = 0;
  let receiveBatches = 0;
  const sendTo = socket.sendTo.bind(socket);
  const sendBatch = socket.sendBatch.bind(socket);
  const receive = socket.receiveBatch.bind(socket);
  socket.sendTo = (view, address, port, length) => {
    if (!inBatch && isRelayFrame(view)) singleSends++;
    return sendTo(view, address, port, length);
  };
  socket.sendBatch = (slots, count) => {
    let frames = 0;
    for (let i = 0; i < count; i++) if (isRelayFrame(slots[i].view)) frames++;
    if (frames > 0) batches++;
    framesInBatches += frames;
    inBatch = true;
    try {
      return sendBatch(slots, count);
    } finally {
      inBatch = false;
    }
  };
  socket.receiveBatch = (slots) => {
    const n = receive(slots);
    if (n > 0) receiveBatches++;
    for (let i = 0; i < n; i++) if (slots[i].segmentSize > 0) packedSlots++;
    return n;
  };
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const packet = udpPacket(A, B, 100 + i, { body: 1000 });
    a.tun.send(packet);
    sent.push([...packet].join(","));
  }
  lab.settle();
  const got = b.tun.packets().slice(before).map((p) => [...p].join(","));
  assertEquals(new Set(got), new Set(sent), "every packet reached b once, intact");
  assertEquals(got.length, sent.length);
  assertTrue(packedSlots > 0, "no GRO slot at the relay: the test proves nothing");
  assertEquals(singleSends, 0, "no relayed frame went out with a send of its own");
  // b's own datagrams back to a (keepalives) are relayed too: all of them in batches.
  assertTrue(framesInBatches >= sent.length, `${framesInBatches} frames in batch sends`);
  assertTrue(batches <= receiveBatches, `${batches} sends for ${receiveBatches} receive batches`);
  assertEquals(r.relaySockets[0].stats.forwarded - forwardedBefore, framesInBatches);
});
