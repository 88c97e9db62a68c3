import { assertEquals } from "../assert.ts";
import type { DatagramSocket } from "../../lib/device/packet_io.ts";
import { PacketSlot } from "../../lib/device/packet_io.ts";
import { RelayEndpoints, virtualRelayEndpoint } from "../../lib/relay/relay_endpoints.ts";
import { registerTxHeadroom, RelaySocket } from "../../lib/relay/relay_socket.ts";
import { RELAY_HOLD_MS, RELAY_HOLD_SLOTS } from "../../lib/relay/relay_hold.ts";
import {
  encodeRelayFrame,
  RELAY_FROM,
  RELAY_HEADER_BYTES,
  RELAY_TO,
} from "../../lib/relay/relay_frame.ts";
import { RelayTable } from "../../lib/relay/relay_table.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";

interface Wire {
  from: string;
  to: string;
  bytes: Uint8Array;
}

const key = (fill: number) => new Uint8Array(32).fill(fill);
const mapped = (v4: string) => {
  const out = new Uint8Array(16);
  out.set([0xff, 0xff], 10);
  out.set(v4.split(".").map(Number), 12);
  return out;
};
const text = (address: Uint8Array, port: number) =>
  `${address.length === 16 ? [...address.subarray(12)].join(".") : [...address].join(".")}:${port}`;

/** A socket on a shared in-memory wire: what it sends lands in the addressee's inbox. */
class WireSocket implements DatagramSocket {
  readonly inbox: Wire[] = [];
  constructor(readonly self: string, readonly wire: Map<string, WireSocket>) {
    wire.set(self, this);
  }
  sendTo(view: Uint8Array, address: Uint8Array, port: number, length: number): number {
    const to = text(address, port);
    this.wire.get(to)?.inbox.push({ from: this.self, to, bytes: view.slice(0, length) });
    return length;
  }
  sendBatch(slots: readonly PacketSlot[], count: number): number {
    for (let i = 0; i < count; i++) {
      const s = slots[i];
      if (s.length > 0) this.sendTo(s.view, s.address, s.port, s.length);
    }
    return count;
  }
  receiveBatch(slots: readonly PacketSlot[]): number {
    let n = 0;
    while (n < slots.length && this.inbox.length > 0) {
      const { from, bytes } = this.inbox.shift()!;
      const [ip, port] = from.split(":");
      const slot = slots[n++];
      slot.view.set(bytes);
      slot.length = bytes.length;
      slot.address.set(mapped(ip));
      slot.port = Number(port);
      slot.truncated = false;
    }
    return n;
  }
}

/**
 * As the data path receives through an edge: a batch, then each slot that still starts with the
 * relay magic through `unwrapFrame`; the datagrams for us with their (virtual) sources.
 */
function receiveThrough(edge: RelaySocket, slots: PacketSlot[]) {
  const got: { data: Uint8Array; address: Uint8Array; port: number }[] = [];
  const received = edge.receiveBatch(slots, 0);
  for (let i = 0; i < received; i++) {
    const slot = slots[i];
    if (slot.truncated) continue;
    const frame = slot.view.subarray(0, slot.length);
    if (frame[0] !== 0x6d) {
      got.push({ data: frame.slice(), address: slot.address.slice(), port: slot.port });
      continue;
    }
    const virtual = new Uint8Array(16);
    const header = edge.unwrapFrame(slot.view, 0, slot.length, slot.address, slot.port, virtual);
    if (header > 0) got.push({ data: frame.slice(header), address: virtual, port: 9 });
  }
  return got;
}

/** As a relay's data path receives: a batch, then one send of what it forwards. */
function relayBatch(edge: RelaySocket, slots: PacketSlot[]): number {
  const received = edge.receiveBatch(slots, 0);
  edge.flushRelayed();
  return received;
}

function wireguardData(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 4;
  for (let i = 4; i < length; i++) out[i] = (i * 31) & 0xff;
  return out;
}

Deno.test("relay socket: A's batch to its virtual endpoint for B reaches B through R as B's virtual endpoint for A", () => {
  const wire = new Map<string, WireSocket>();
  const [a, b, r] = ["203.0.113.1:1001", "203.0.113.2:1002", "203.0.113.3:51820"].map((e) =>
    new WireSocket(e, wire)
  );
  const members = [
    { key: key(0xa1), ip: mapped("203.0.113.1"), port: 1001 },
    { key: key(0xb2), ip: mapped("203.0.113.2"), port: 1002 },
  ];
  const table = new RelayTable({}, 1);
  table.setMembers(members);
  const rIp = mapped("203.0.113.3");
  const aEdge = new RelaySocket(a, new RelayEndpoints(), null, () => 0);
  const bEdge = new RelaySocket(b, new RelayEndpoints(), null, () => 0);
  const rEdge = new RelaySocket(r, new RelayEndpoints(), table, () => 0);
  const toB = aEdge.endpoints.bind(rIp, 51820, key(0xb2));
  const fromA = bEdge.endpoints.bind(rIp, 51820, key(0xa1));

  const payload = wireguardData(100);
  const tx = new PacketSlot(new Uint8Array(192));
  tx.view.set(payload);
  tx.length = payload.length;
  const virtual = parseEndpoint(virtualRelayEndpoint(toB));
  tx.address = virtual.address;
  tx.port = virtual.port;
  aEdge.sendBatch([tx], 1, 0);
  assertEquals(r.inbox.length, 1, "A's frame went to R");

  const rx = () => [new PacketSlot(new Uint8Array(256)), new PacketSlot(new Uint8Array(256))];
  const rSlots = rx();
  assertEquals(relayBatch(rEdge, rSlots), 1);
  assertEquals(rSlots[0].truncated, true, "R consumed it (its loops never see it)");
  assertEquals(b.inbox.length, 1, "R forwarded it to B");

  const bSlots = rx();
  const [got] = receiveThrough(bEdge, bSlots);
  assertEquals(bSlots[0].truncated, false, "left for the data path, in place");
  assertEquals([...got.data], [...payload], "the WireGuard datagram as is");
  const expected = parseEndpoint(virtualRelayEndpoint(fromA));
  assertEquals([...got.address], [...expected.address]);
  assertEquals(got.port, expected.port);
  assertEquals([aEdge.stats.wrapped, bEdge.stats.unwrapped, rEdge.stats.dropped], [1, 1, 0]);

  // Back: B's engine answers to the virtual source with sendTo (a handshake, say).
  bEdge.sendTo(payload, got.address, got.port, payload.length, 0);
  const rSlots2 = rx();
  relayBatch(rEdge, rSlots2);
  const [back] = receiveThrough(aEdge, rx());
  assertEquals([...back.data], [...payload]);
  assertEquals(
    [...back.address],
    [...virtual.address],
    "A sees B on the endpoint it sends to",
  );
});

Deno.test("relay socket: a tx slot with registered headroom is sent as header + datagram in place (no move), and gets its own view back", () => {
  const wire = new Map<string, WireSocket>();
  const a = new WireSocket("203.0.113.1:1001", wire);
  const sent: Uint8Array[] = [];
  const inner: DatagramSocket = {
    sendTo: (view) => view.length,
    receiveBatch: () => 0,
    sendBatch: (slots, count) => {
      for (let i = 0; i < count; i++) sent.push(slots[i].view);
      return a.sendBatch(slots, count);
    },
  };
  const r = new WireSocket("203.0.113.3:51820", wire);
  const edge = new RelaySocket(inner, new RelayEndpoints(), null, () => 0);
  const slotToB = edge.endpoints.bind(mapped("203.0.113.3"), 51820, key(0xb2));
  const memory = new Uint8Array(32 + 192);
  const tx = new PacketSlot(memory.subarray(32));
  registerTxHeadroom(tx.view, memory.subarray(32 - RELAY_HEADER_BYTES));
  const own = tx.view;
  const payload = wireguardData(100);
  own.set(payload);
  tx.length = payload.length;
  const virtual = parseEndpoint(virtualRelayEndpoint(slotToB));
  tx.address = virtual.address;
  tx.port = virtual.port;
  edge.sendBatch([tx], 1, 0);
  assertEquals(sent.length, 1);
  assertEquals(sent[0].byteOffset, own.byteOffset - RELAY_HEADER_BYTES, "sent from the headroom");
  assertEquals([...own.subarray(0, payload.length)], [...payload], "the datagram did not move");
  assertEquals(tx.view, own, "the slot has its own view again");
  assertEquals(r.inbox.length, 1);
  const frame = r.inbox[0].bytes;
  assertEquals(frame.length, payload.length + RELAY_HEADER_BYTES);
  assertEquals([...frame.subarray(RELAY_HEADER_BYTES)], [...payload]);
  assertEquals(frame[0], 0x6d, "the relay magic in front");
  // A headroom view that is not just before its slot is refused at set-up.
  let refused = false;
  try {
    registerTxHeadroom(tx.view, memory.subarray(0));
  } catch {
    refused = true;
  }
  assertEquals(refused, true);
});

Deno.test("relay socket: a GRO slot is left whole by receiveBatch; unwrapFrame unwraps each bound frame to its own virtual source and consumes the rest", () => {
  const wire = new Map<string, WireSocket>();
  const b = new WireSocket("203.0.113.2:1002", wire);
  const edge = new RelaySocket(b, new RelayEndpoints(), null, () => 0);
  const rIp = mapped("203.0.113.3");
  const fromA = edge.endpoints.bind(rIp, 51820, key(0xa1));
  const fromC = edge.endpoints.bind(rIp, 51820, key(0xc3));
  const payload = wireguardData(64);
  const frames = [key(0xa1), key(0xc3), key(0xdd)].map((id) =>
    encodeRelayFrame(RELAY_FROM, id, payload)
  );
  const slot = new PacketSlot(new Uint8Array(1024));
  const inner = b.receiveBatch.bind(b);
  b.receiveBatch = (slots) => {
    frames.forEach((frame, i) => slots[0].view.set(frame, i * frame.length));
    slots[0].length = frames.length * frames[0].length;
    slots[0].segmentSize = frames[0].length;
    slots[0].address.set(rIp);
    slots[0].port = 51820;
    slots[0].truncated = false;
    return 1;
  };
  assertEquals(edge.receiveBatch([slot], 0), 1);
  assertEquals(slot.truncated, false);
  assertEquals(slot.length, 3 * frames[0].length, "left whole for the data path");
  b.receiveBatch = inner;
  const virtual = new Uint8Array(16);
  const size = frames[0].length;
  const at = (i: number) => [slot.view, i * size, size] as const;
  assertEquals(edge.unwrapFrame(...at(0), slot.address, slot.port, virtual), RELAY_HEADER_BYTES);
  assertEquals([...virtual], [...parseEndpoint(virtualRelayEndpoint(fromA)).address]);
  assertEquals(edge.unwrapFrame(...at(1), slot.address, slot.port, virtual), RELAY_HEADER_BYTES);
  assertEquals([...virtual], [...parseEndpoint(virtualRelayEndpoint(fromC)).address]);
  assertEquals(edge.unwrapFrame(...at(2), slot.address, slot.port, virtual), -1, "unbound peer");
  assertEquals([edge.stats.unwrapped, edge.stats.dropped], [2, 1]);
  assertEquals([...slot.address], [...rIp], "the slot's own source is untouched");
});

Deno.test("relay socket: an outsider's frame and frames at a node that relays nothing are consumed and counted", () => {
  const wire = new Map<string, WireSocket>();
  const [x, r, plain] = ["198.51.100.9:9999", "203.0.113.3:51820", "203.0.113.4:51820"].map((
    e,
  ) => new WireSocket(e, wire));
  const victim = new WireSocket("203.0.113.2:1002", wire);
  const table = new RelayTable({}, 1);
  table.setMembers([{ key: key(0xb2), ip: mapped("203.0.113.2"), port: 1002 }]);
  const rEdge = new RelaySocket(r, new RelayEndpoints(), table, () => 0);
  const plainEdge = new RelaySocket(plain, new RelayEndpoints(), null, () => 0);
  const outsider = new RelaySocket(x, new RelayEndpoints(), null, () => 0);
  const toVictim = outsider.endpoints.bind(mapped("203.0.113.3"), 51820, key(0xb2));
  const toVictimVia4 = outsider.endpoints.bind(mapped("203.0.113.4"), 51820, key(0xb2));
  for (const slot of [toVictim, toVictimVia4]) {
    const v = parseEndpoint(virtualRelayEndpoint(slot));
    outsider.sendTo(wireguardData(64), v.address, v.port, 64, 0);
  }
  const slots = [new PacketSlot(new Uint8Array(128))];
  assertEquals(relayBatch(rEdge, slots), 1);
  assertEquals(slots[0].truncated, true);
  assertEquals(plainEdge.receiveBatch(slots, 0), 1);
  assertEquals(slots[0].truncated, true);
  assertEquals(victim.inbox.length, 0, "nothing reached B");
  assertEquals([rEdge.stats.dropped, plainEdge.stats.dropped], [1, 1]);
  assertEquals(table.counts[2], 1, "counted as untrusted at R");
});

/** A WireGuard handshake initiation's shape (type 1, 148 bytes). */
function initiation(): Uint8Array {
  const out = wireguardData(148);
  out[0] = 1;
  return out;
}

/**
 * Members A and B and relay R on one wire, R's table holding only the member whose address is
 * proven (`unproven` is left out); `send` routes a payload from A to B through R.
 */
function unprovenRig(unproven: "a" | "b") {
  const wire = new Map<string, WireSocket>();
  const [a, b, r] = ["203.0.113.1:1001", "203.0.113.2:1002", "203.0.113.3:51820"].map((e) =>
    new WireSocket(e, wire)
  );
  const clock = { now: 1_000 };
  const table = new RelayTable({}, 1);
  const memberA = { key: key(0xa1), ip: mapped("203.0.113.1"), port: 1001 };
  const memberB = { key: key(0xb2), ip: mapped("203.0.113.2"), port: 1002 };
  table.setMembers([unproven === "a" ? memberB : memberA]);
  const rEdge = new RelaySocket(r, new RelayEndpoints(), table, () => clock.now);
  const aEdge = new RelaySocket(a, new RelayEndpoints(), null, () => clock.now);
  const toB = parseEndpoint(
    virtualRelayEndpoint(aEdge.endpoints.bind(mapped("203.0.113.3"), 51820, key(0xb2))),
  );
  const send = (payload: Uint8Array) => {
    aEdge.sendTo(payload, toB.address, toB.port, payload.length, 0);
    relayBatch(rEdge, [new PacketSlot(new Uint8Array(256))]);
  };
  return { b, table, rEdge, memberA, memberB, send, clock };
}

Deno.test("relay socket: an initiation for a member whose address the relay has not proven yet is held and forwarded once it is (not lost to WireGuard's 5 s retry)", () => {
  // R knows A's address; B's is not proven yet (the planner leaves it out of the table).
  const { b, table, rEdge, memberA, memberB, send, clock } = unprovenRig("b");
  send(initiation());
  send(wireguardData(100)); // data without a path is not held
  assertEquals(b.inbox.length, 0);
  assertEquals(rEdge.hold.count, 1);

  clock.now += 400;
  table.setMembers([memberA, memberB]);
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 1, "the held initiation went to B once its address was proven");
  const frame = b.inbox[0].bytes;
  assertEquals([...frame.subarray(16)], [...initiation()], "the initiation as is");
  assertEquals(frame[5], 2, "as a FROM frame");
  assertEquals([...frame.subarray(8, 16)], [...key(0xa1).subarray(0, 8)], "from A");
  assertEquals(rEdge.hold.stats, { held: 1, released: 1, expired: 0 });
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 1, "released once");

  // One held longer than RELAY_HOLD_MS is given up (the initiator has retried by then).
  table.setMembers([memberA]);
  send(initiation());
  clock.now += 3_500;
  table.setMembers([memberA, memberB]);
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 1);
  assertEquals(rEdge.hold.stats, { held: 2, released: 1, expired: 1 });
  assertEquals(rEdge.hold.count, 0);
});

Deno.test("relay socket: an initiation from a member whose address the relay has not proven yet is held and forwarded once it is", () => {
  // A proved R's address and routes through it; R has not proven A's yet (its next SWIM probe).
  const { b, table, rEdge, memberA, memberB, send, clock } = unprovenRig("a");
  send(initiation());
  send(wireguardData(100)); // data from an unproven source is dropped at once
  assertEquals(b.inbox.length, 0);
  assertEquals(rEdge.hold.count, 1);
  assertEquals([table.counts[2], table.counts[4]], [1, 0], "only the data counted as untrusted");
  clock.now += 300;
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 0, "nothing forwarded while A's address is unproven");
  table.setMembers([memberA, memberB]);
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 1, "the held initiation went to B once A's address was proven");
  assertEquals([...b.inbox[0].bytes.subarray(8, 16)], [...key(0xa1).subarray(0, 8)], "from A");
  assertEquals(rEdge.hold.stats, { held: 1, released: 1, expired: 0 });
  assertEquals([...table.holds], [1, 1, 0], "status sees it held and released, not dropped");
  assertEquals(table.counts[2], 1, "retries were not counted again");
});

Deno.test("relay socket: an outsider's initiations wait in their own slots, expire unforwarded and never push out a member's", () => {
  const wire = new Map<string, WireSocket>();
  const [x, a, b, r] = [
    "198.51.100.9:9999",
    "203.0.113.1:1001",
    "203.0.113.2:1002",
    "203.0.113.3:51820",
  ].map((e) => new WireSocket(e, wire));
  let now = 0;
  const table = new RelayTable({}, 1);
  const memberA = { key: key(0xa1), ip: mapped("203.0.113.1"), port: 1001 };
  const memberB = { key: key(0xb2), ip: mapped("203.0.113.2"), port: 1002 };
  table.setMembers([memberA]);
  const rEdge = new RelaySocket(r, new RelayEndpoints(), table, () => now);
  const aEdge = new RelaySocket(a, new RelayEndpoints(), null, () => now);
  const outsider = new RelaySocket(x, new RelayEndpoints(), null, () => now);
  const virtualB = (edge: RelaySocket) =>
    parseEndpoint(
      virtualRelayEndpoint(edge.endpoints.bind(mapped("203.0.113.3"), 51820, key(0xb2))),
    );
  // A member's initiation waits for B's address...
  const fromA = virtualB(aEdge);
  aEdge.sendTo(initiation(), fromA.address, fromA.port, 148, 0);
  relayBatch(rEdge, [new PacketSlot(new Uint8Array(256))]);
  // ...while an outsider floods initiations naming B.
  const v = virtualB(outsider);
  const flood = RELAY_HOLD_SLOTS + 12;
  for (let i = 0; i < flood; i++) {
    outsider.sendTo(initiation(), v.address, v.port, 148, 0);
    relayBatch(rEdge, [new PacketSlot(new Uint8Array(256))]);
  }
  assertEquals(rEdge.hold.count, 1 + RELAY_HOLD_SLOTS, "the outsider fills only its own slots");
  table.setMembers([memberA, memberB]);
  rEdge.releaseHeld();
  assertEquals(b.inbox.length, 1, "only A's initiation reached B");
  assertEquals([...b.inbox[0].bytes.subarray(8, 16)], [...key(0xa1).subarray(0, 8)]);
  assertEquals(x.inbox.length, 0);
  now += RELAY_HOLD_MS + 1;
  rEdge.releaseHeld();
  assertEquals(rEdge.hold.count, 0, "the outsider's expire without a table change");
  assertEquals(b.inbox.length, 1, "none of the outsider's was ever forwarded");
  assertEquals(rEdge.hold.stats, { held: flood + 1, released: 1, expired: flood });
});

Deno.test("relay socket: a relay forwards a receive batch, GRO segments included, with one batch send and no view per frame", () => {
  const wire = new Map<string, WireSocket>();
  const [a, b, r] = ["203.0.113.1:1001", "203.0.113.2:1002", "203.0.113.3:51820"].map((e) =>
    new WireSocket(e, wire)
  );
  const table = new RelayTable({}, 1);
  table.setMembers([
    { key: key(0xa1), ip: mapped("203.0.113.1"), port: 1001 },
    { key: key(0xb2), ip: mapped("203.0.113.2"), port: 1002 },
  ]);
  const rEdge = new RelaySocket(r, new RelayEndpoints(), table, () => 0);
  const sends: Uint8Array[][] = [];
  let sendTos = 0;
  r.sendTo = (() => (sendTos++, 0)) as typeof r.sendTo;
  r.sendBatch = (slots, count) => {
    sends.push(slots.slice(0, count).map((s) => s.view));
    for (let i = 0; i < count; i++) {
      const s = slots[i];
      WireSocket.prototype.sendTo.call(r, s.view, s.address, s.port, s.length);
    }
    return count;
  };
  const frame = encodeRelayFrame(RELAY_TO, key(0xb2), wireguardData(64));
  const size = frame.length;
  // Slot 0: four frames packed by GRO; slots 1, 2: a frame each.
  const slots = [0, 1, 2].map(() => new PacketSlot(new Uint8Array(1024)));
  r.receiveBatch = (into) => {
    for (let i = 0; i < 3; i++) {
      const n = i === 0 ? 4 : 1;
      for (let k = 0; k < n; k++) into[i].view.set(frame, k * size);
      into[i].length = n * size;
      into[i].segmentSize = n > 1 ? size : 0;
      into[i].address.set(mapped("203.0.113.1"));
      into[i].port = 1001;
      into[i].truncated = false;
    }
    return 3;
  };
  const batch = () => {
    const received = rEdge.receiveBatch(slots, 0);
    // As the data path walks a GRO slot: each segment through unwrapFrame, then one flush.
    for (let k = 0; k < 4; k++) {
      const virtual = new Uint8Array(16);
      assertEquals(
        rEdge.unwrapFrame(slots[0].view, k * size, size, slots[0].address, 1001, virtual),
        -1,
      );
    }
    rEdge.flushRelayed();
    return received;
  };
  assertEquals(batch(), 3);
  assertEquals([sends.length, sends[0].length, sendTos], [1, 6, 0], "one send for six frames");
  assertEquals(b.inbox.length, 6);
  for (const got of b.inbox) {
    assertEquals(got.bytes[5], RELAY_FROM, "rewritten in place to FROM");
    assertEquals([...got.bytes.subarray(8, 16)], [...key(0xa1).subarray(0, 8)], "names a");
  }
  batch();
  assertEquals(sends.length, 2);
  assertEquals(
    sends[1].map((view, i) => view === sends[0][i]),
    new Array(6).fill(true),
    "each frame offset's view is made once, not per frame",
  );
  assertEquals([rEdge.stats.forwarded, rEdge.stats.forwardSends, a.inbox.length], [12, 2, 0]);
});
