import { assertEquals, assertTrue } from "../assert.ts";
import {
  isVirtualRelayAddress,
  RelayEndpoints,
  virtualRelayEndpoint,
} from "../../lib/relay/relay_endpoints.ts";
import { encodeRelayFrame, RELAY_FROM, RELAY_HEADER_BYTES } from "../../lib/relay/relay_frame.ts";
import { RELAY_FORWARD, RelayTable } from "../../lib/relay/relay_table.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";

function ip(last: number): Uint8Array {
  return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, last]);
}

const A = { key: new Uint8Array(32).fill(0xa1), ip: ip(1), port: 40001 };
const B = { key: new Uint8Array(32).fill(0xb2), ip: ip(2), port: 40002 };
const R = { key: new Uint8Array(32).fill(0xc3), ip: ip(3), port: 51820 };

function datagram(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 4;
  for (let i = 4; i < length; i++) out[i] = (i * 13) & 0xff;
  return out;
}

Deno.test("relay endpoints: A → R → B end to end; B sees the datagram as is, from its virtual endpoint for A via R", () => {
  const a = new RelayEndpoints();
  const b = new RelayEndpoints();
  const relay = new RelayTable({}, 3);
  relay.setMembers([A, B, R]);
  const aSlot = a.bind(R.ip, R.port, B.key);
  const bSlot = b.bind(R.ip, R.port, A.key);
  const virtualB = parseEndpoint(virtualRelayEndpoint(aSlot)).address;
  assertTrue(isVirtualRelayAddress(virtualB));

  // A's tx slot: 16 bytes of headroom, then the sealed datagram.
  const payload = datagram(96);
  const slot = new Uint8Array(RELAY_HEADER_BYTES + payload.length);
  slot.set(payload, RELAY_HEADER_BYTES);
  const start = a.wrap(slot, RELAY_HEADER_BYTES, payload.length, virtualB);
  assertEquals(start, 0);
  assertEquals([...a.toIp], [...R.ip]);
  assertEquals(a.toPort, R.port);

  assertEquals(relay.relay(slot, A.ip, A.port, 0), RELAY_FORWARD);
  assertEquals([...relay.destIp], [...B.ip]);

  const source = new Uint8Array(16);
  assertEquals(b.unwrap(slot, R.ip, R.port, source), bSlot);
  assertEquals(
    [...source],
    [...parseEndpoint(virtualRelayEndpoint(bSlot)).address],
    "the source WireGuard sees is B's binding for A via R",
  );
  assertEquals([...slot.subarray(RELAY_HEADER_BYTES)], [...payload], "end to end: untouched");
});

Deno.test("relay endpoints: frames from an unbound relay, for an unbound peer, or not FROM are dropped; release forgets", () => {
  const b = new RelayEndpoints();
  const slot = b.bind(R.ip, R.port, A.key);
  const out = new Uint8Array(16);
  const from = (id: Uint8Array) => encodeRelayFrame(RELAY_FROM, id, datagram(48));
  assertEquals(b.unwrap(from(A.key), R.ip, R.port, out), slot);
  assertEquals(b.unwrap(from(A.key), ip(66), R.port, out), -1, "another sender");
  assertEquals(b.unwrap(from(A.key), R.ip, R.port + 1, out), -1, "another port");
  assertEquals(b.unwrap(from(B.key), R.ip, R.port, out), -1, "a peer not bound via R");
  const to = from(A.key);
  to[5] = 1;
  assertEquals(b.unwrap(to, R.ip, R.port, out), -1, "a TO frame");
  assertEquals(b.bind(R.ip, R.port, A.key), slot, "binding again reuses the slot");
  b.release(slot);
  assertEquals(b.unwrap(from(A.key), R.ip, R.port, out), -1, "released");
  assertEquals(b.size, 0);
});

Deno.test("relay endpoints: without headroom the datagram moves 16 bytes on; a real address is not wrapped", () => {
  const a = new RelayEndpoints();
  const slot = a.bind(R.ip, R.port, B.key);
  const virtual = parseEndpoint(virtualRelayEndpoint(slot)).address;
  const payload = datagram(40);
  const buffer = new Uint8Array(payload.length + RELAY_HEADER_BYTES);
  buffer.set(payload, 0);
  assertEquals(a.wrap(buffer, 0, payload.length, virtual), 0);
  assertEquals([...buffer.subarray(RELAY_HEADER_BYTES)], [...payload]);
  assertEquals(a.wrap(buffer.subarray(0, payload.length), 0, payload.length, virtual), -1);
  assertEquals(a.wrap(buffer, 16, 40, B.ip), -1, "a real endpoint goes out as is");
});
