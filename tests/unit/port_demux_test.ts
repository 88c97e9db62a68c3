import { assertEquals, assertTrue } from "../assert.ts";
import {
  classifiesAsStun,
  classifiesAsWireguard,
  classifyDatagram,
  isSwimDatagram,
  PORT_STUN,
  PORT_SWIM,
  PORT_UNKNOWN,
  PORT_WIREGUARD_DATA,
  PORT_WIREGUARD_HANDSHAKE,
} from "../../lib/net/port_demux.ts";
import { writeHeader } from "../../lib/swim/header.ts";
import { MessageType } from "../../lib/swim/constants.ts";

function wireguard(type: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes[0] = type;
  return bytes;
}

Deno.test("port demux: WireGuard handshake types 1–3 and data type 4, with zero reserved bytes", () => {
  for (const type of [1, 2, 3]) {
    assertEquals(classifyDatagram(wireguard(type, 148)), PORT_WIREGUARD_HANDSHAKE);
  }
  assertEquals(classifyDatagram(wireguard(4, 32)), PORT_WIREGUARD_DATA);
  assertEquals(classifyDatagram(wireguard(5, 32)), PORT_UNKNOWN);
  assertEquals(classifyDatagram(wireguard(0, 32)), PORT_UNKNOWN);
  const reserved = wireguard(1, 148);
  reserved[2] = 1;
  assertEquals(classifyDatagram(reserved), PORT_UNKNOWN);
  assertEquals(classifyDatagram(new Uint8Array([1, 0, 0])), PORT_UNKNOWN, "shorter than a type");
  assertTrue(classifiesAsWireguard(wireguard(4, 32)) && !classifiesAsWireguard(wireguard(5, 32)));
});

Deno.test("port demux: every SWIM message type is SWIM, never WireGuard or STUN", () => {
  for (const type of Object.values(MessageType)) {
    const bytes = new Uint8Array(120);
    writeHeader(bytes, type, 1, 2, 3, new Uint8Array(32));
    assertEquals(classifyDatagram(bytes), PORT_SWIM, `type ${type}`);
    assertTrue(isSwimDatagram(bytes) && !classifiesAsWireguard(bytes) && !classifiesAsStun(bytes));
    assertEquals(classifyDatagram(bytes.subarray(0, 63)), PORT_UNKNOWN, "shorter than a header");
  }
});

Deno.test("port demux: STUN by its magic cookie; a WireGuard message that carries it by chance stays WireGuard", () => {
  const binding = new Uint8Array(20);
  binding.set([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]);
  assertEquals(classifyDatagram(binding), PORT_STUN);
  const initiation = wireguard(1, 148);
  initiation.set([0x21, 0x12, 0xa4, 0x42], 4);
  assertEquals(classifyDatagram(initiation), PORT_WIREGUARD_HANDSHAKE);
  assertTrue(classifiesAsStun(initiation), "the STUN predicate alone still sees the cookie");
});
