import { assertEquals, assertTrue } from "../assert.ts";
import {
  encodeRelayFrame,
  RELAY_FROM,
  RELAY_HEADER_BYTES,
  RELAY_TO,
  relayFrameKind,
  relayPayload,
  relayShortId,
  writeRelayHeader,
} from "../../lib/relay/relay_frame.ts";

function wireguard(type: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes[0] = type;
  for (let i = 4; i < length; i++) bytes[i] = i & 0xff;
  return bytes;
}

const id = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

Deno.test("relay frame: header then the WireGuard datagram as is; kind, id and payload read back", () => {
  for (const type of [1, 2, 3, 4]) {
    const payload = wireguard(type, type === 4 ? 32 : 148);
    const frame = encodeRelayFrame(RELAY_TO, id, payload);
    assertEquals(frame.length, RELAY_HEADER_BYTES + payload.length);
    assertEquals(relayFrameKind(frame), RELAY_TO);
    assertEquals([...relayShortId(frame)], [...id.subarray(0, 8)], "the key's 8-byte prefix");
    assertEquals([...relayPayload(frame)], [...payload]);
  }
  assertEquals(relayFrameKind(encodeRelayFrame(RELAY_FROM, id, wireguard(4, 64))), RELAY_FROM);
});

Deno.test("relay frame: a wrong magic, version, kind, reserved byte, short or non-WireGuard payload is refused", () => {
  const good = encodeRelayFrame(RELAY_TO, id, wireguard(4, 32));
  for (const [at, value] of [[0, 0x6e], [3, 0], [4, 2], [5, 3], [5, 0], [6, 1], [7, 1]]) {
    const bad = good.slice();
    bad[at] = value;
    assertEquals(relayFrameKind(bad), 0, `byte ${at} = ${value}`);
  }
  assertEquals(relayFrameKind(good.subarray(0, good.length - 1)), 0, "payload under 32 bytes");
  assertEquals(relayFrameKind(encodeRelayFrame(RELAY_TO, id, wireguard(5, 32))), 0, "type 5");
  const reserved = encodeRelayFrame(RELAY_TO, id, wireguard(4, 32));
  reserved[RELAY_HEADER_BYTES + 2] = 1;
  assertEquals(relayFrameKind(reserved), 0, "WireGuard reserved bytes not zero");
});

Deno.test("relay frame: the header is written in place in front of a datagram already in a buffer", () => {
  const buffer = new Uint8Array(RELAY_HEADER_BYTES + 32);
  buffer.set(wireguard(4, 32), RELAY_HEADER_BYTES);
  writeRelayHeader(buffer, 0, RELAY_TO, id);
  assertEquals([...buffer], [...encodeRelayFrame(RELAY_TO, id, wireguard(4, 32))]);
  assertTrue(relayFrameKind(buffer) === RELAY_TO);
});
