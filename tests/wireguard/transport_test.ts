import { assertEquals } from "../assert.ts";
import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";
import {
  innerDestinationAddress,
  innerSourceAddress,
  openTransport,
  paddedLength,
  readTransportHeader,
  sealTransport,
} from "../../lib/wireguard/transport.ts";
import { primitives as p } from "./wireguard_fixture.ts";

function ipv4Packet(payloadLength: number): Uint8Array {
  const packet = new Uint8Array(20 + payloadLength);
  packet[0] = 0x45;
  packet[2] = packet.length >> 8;
  packet[3] = packet.length & 0xff;
  packet.set(parseIpv4("10.99.1.2")!, 12);
  packet.set(parseIpv4("10.99.3.4")!, 16);
  packet.fill(0xab, 20);
  return packet;
}

function ipv6Packet(payloadLength: number): Uint8Array {
  const packet = new Uint8Array(40 + payloadLength);
  packet[0] = 0x60;
  packet[4] = payloadLength >> 8;
  packet[5] = payloadLength & 0xff;
  packet.set(parseIpv6("fd99:6d67::1")!, 8);
  packet.set(parseIpv6("fd99:6d67::2")!, 24);
  return packet;
}

Deno.test("transport: packets of every size round-trip, padded to 16 within the MTU", () => {
  const key = p.randomBytes(32);
  for (const length of [0, 1, 15, 16, 17, 100, 1379, 1380]) {
    for (const packet of [ipv4Packet(length), ipv6Packet(length)]) {
      const message = sealTransport(p, key, 0xdeadbeef, BigInt(length), packet, 1420);
      assertEquals(message.length, 16 + paddedLength(packet.length, 1420) + 16);
      const padded = paddedLength(packet.length, 1420);
      assertEquals(padded % 16 === 0 || padded === 1420, true); // never beyond the MTU
      assertEquals(readTransportHeader(message), {
        receiverIndex: 0xdeadbeef,
        counter: BigInt(length),
      });
      assertEquals(openTransport(p, key, message), packet);
    }
  }
});

Deno.test("transport: a keepalive is an empty payload of exactly 32 bytes", () => {
  const key = p.randomBytes(32);
  const keepalive = sealTransport(p, key, 1, 0n, new Uint8Array(0), 1420);
  assertEquals(keepalive.length, 32);
  assertEquals(openTransport(p, key, keepalive), new Uint8Array(0));
});

Deno.test("transport: wrong key, flipped bits, wrong counter and non-IP contents are dropped", () => {
  const key = p.randomBytes(32);
  const message = sealTransport(p, key, 1, 5n, ipv4Packet(60), 1420);
  assertEquals(openTransport(p, p.randomBytes(32), message), null);
  for (const byte of [8, 20, message.length - 1]) {
    const tampered = message.slice();
    tampered[byte] ^= 1;
    assertEquals(openTransport(p, key, tampered), null, `byte ${byte}`);
  }
  const notIp = sealTransport(p, key, 1, 6n, new Uint8Array(40).fill(0x11), 1420);
  assertEquals(openTransport(p, key, notIp), null);
  const lying = ipv4Packet(10);
  lying[3] = 200; // claims more bytes than it has
  assertEquals(openTransport(p, key, sealTransport(p, key, 1, 7n, lying, 1420)), null);
  assertEquals(readTransportHeader(message.subarray(0, 31)), null);
});

Deno.test("transport: inner source and destination addresses for routing and the source check", () => {
  assertEquals(innerSourceAddress(ipv4Packet(0)), parseIpv4("10.99.1.2"));
  assertEquals(innerDestinationAddress(ipv4Packet(0)), parseIpv4("10.99.3.4"));
  assertEquals(innerSourceAddress(ipv6Packet(0)), parseIpv6("fd99:6d67::1"));
  assertEquals(innerDestinationAddress(ipv6Packet(0)), parseIpv6("fd99:6d67::2"));
  assertEquals(innerSourceAddress(new Uint8Array([0x45, 0])), null);
});
