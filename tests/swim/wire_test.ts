/**
 * Wire format: no datagram can classify as WireGuard or STUN (by construction and on every
 * datagram a simulation emits), every datagram fits 1,200 bytes, items round-trip, and fuzzed
 * input makes decoders throw nothing but SwimDecodeError (and the engine nothing at all).
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { MAX_DATAGRAM_BYTES, MessageType } from "../../lib/swim/constants.ts";
import { parseSeed } from "../../lib/swim/address.ts";
import {
  classifiesAsStun,
  classifiesAsWireguard,
  isSwimDatagram,
  readHeader,
  writeHeader,
} from "../../lib/swim/header.ts";
import { decodeHello, decodeHelloCookie } from "../../lib/swim/hello.ts";
import { decodeBody } from "../../lib/swim/message_body.ts";
import { makeAliveRecord, NatType, readItem } from "../../lib/swim/records.ts";
import { createSwimCrypto } from "../../lib/swim/swim_crypto.ts";
import { SwimAddressError, SwimDecodeError } from "../../lib/swim/swim_errors.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { check, convergedCluster } from "./helpers.ts";
import { mulberry32, randomBytes } from "./sim/prng.ts";

Deno.test("swim wire: no header can read as WireGuard or STUN, whatever its fields", () => {
  const random = mulberry32(31);
  const out = new Uint8Array(64);
  for (const type of Object.values(MessageType)) {
    for (let i = 0; i < 2000; i++) {
      const big = () => Math.floor(random() * 2 ** 53);
      writeHeader(out, type, big(), big(), big(), randomBytes(random, 32));
      check(!classifiesAsWireguard(out), 31, `type ${type} classified as WireGuard`);
      check(!classifiesAsStun(out), 31, `type ${type} classified as STUN`);
      check(isSwimDatagram(out), 31, "header not recognised as SWIM");
    }
  }
});

Deno.test("swim wire: every datagram of a run is ≤1,200 bytes and never WireGuard/STUN", () => {
  const seed = 32;
  const cluster = convergedCluster({ n: 12, seed });
  let count = 0;
  const bad: string[] = [];
  cluster.net.tap = (_from, _to, data) => {
    count++;
    if (data.length > MAX_DATAGRAM_BYTES) bad.push(`oversize ${data.length}`);
    if (classifiesAsWireguard(data) || classifiesAsStun(data)) bad.push(`type ${data[0]}`);
    if (!isSwimDatagram(data)) bad.push("not SWIM");
  };
  cluster.crash(3);
  cluster.net.link = { loss: 0.05, latency: 5, jitter: 20 };
  cluster.run(cluster.net.now + 30_000);
  cluster.restart(3, [0]);
  cluster.run(cluster.net.now + 30_000);
  check(count > 500, seed, `only ${count} datagrams`);
  check(bad.length === 0, seed, `bad datagrams: ${bad.slice(0, 5).join(", ")}`);
});

Deno.test("swim wire: alive records round-trip with IPv4 and IPv6 endpoints", () => {
  const seed = randomBytes(mulberry32(33), 32);
  const crypto = createSwimCrypto(seed, ed25519.getPublicKey(seed));
  const endpoints = ["192.0.2.1:51821", "[2001:db8::1]:51821", "[::ffff:c000:201]:9"];
  const record = makeAliveRecord(crypto, 1_700_000_000_000, 7, NatType.Cone, endpoints);
  const { item, next } = readItem(record.bytes, 0);
  assertEquals(next, record.bytes.length);
  if (item === null || item.kind !== 1) throw new Error("not an alive record");
  assertEquals(item.endpoints, endpoints);
  assertEquals([item.epoch, item.incarnation, item.nat], [1_700_000_000_000, 7, NatType.Cone]);
});

Deno.test("swim wire: seeds parse as host:port, [v6]:port or host; bad ones are explained", () => {
  assertEquals(parseSeed("seed.example.com:51821"), { host: "seed.example.com", port: 51821 });
  assertEquals(parseSeed("10.0.0.1"), { host: "10.0.0.1", port: 51821 });
  assertEquals(parseSeed("[2001:db8::1]:4000"), { host: "2001:db8::1", port: 4000 });
  assertThrows(() => parseSeed("2001:db8::1"), SwimAddressError, /brackets/);
  assertThrows(() => parseSeed("host:0"), SwimAddressError, /outside/);
  assertThrows(() => parseSeed("host:http"), SwimAddressError, /not a number/);
  assertThrows(() => parseSeed(""), SwimAddressError, /empty/);
  assertThrows(() => parseSeed("bad_host!:1"), SwimAddressError, /host name/);
});

function onlyDecodeErrors(fn: () => unknown, what: string, seed: number): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof SwimDecodeError)) {
      throw new Error(`seed ${seed}: ${what} threw ${String(error)}`);
    }
  }
}

Deno.test("swim wire: fuzzed decoders throw only SwimDecodeError; the engine never throws", () => {
  const seed = 34;
  const random = mulberry32(seed);
  const cluster = convergedCluster({ n: 4, seed });
  const samples: Uint8Array[] = [];
  cluster.net.tap = (_from, _to, data) => {
    if (samples.length < 200) samples.push(data);
  };
  cluster.run(cluster.net.now + 10_000);
  cluster.net.tap = null;
  const engine = cluster.nodes[1].engine!;
  for (let i = 0; i < 20_000; i++) {
    let data: Uint8Array;
    if (i % 3 === 0) {
      data = randomBytes(random, Math.floor(random() * 300));
    } else {
      data = samples[i % samples.length].slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        data[Math.floor(random() * data.length)] ^= 1 << Math.floor(random() * 8);
      }
      if (i % 5 === 0) data = data.subarray(0, Math.floor(random() * data.length));
    }
    onlyDecodeErrors(() => readHeader(data), "readHeader", seed);
    onlyDecodeErrors(() => decodeBody(MessageType.Ping, data), "decodeBody", seed);
    onlyDecodeErrors(() => decodeBody(MessageType.PingReq, data), "decodeBody", seed);
    onlyDecodeErrors(() => readItem(data, 0), "readItem", seed);
    onlyDecodeErrors(() => decodeHello(data, data.subarray(0, 32), 1), "decodeHello", seed);
    onlyDecodeErrors(() => decodeHelloCookie(data), "decodeHelloCookie", seed);
    engine.receive("198.51.100.1:1", data, cluster.net.now);
  }
  // Structured fuzz of the body decoder: random item headers inside a valid frame.
  for (let i = 0; i < 20_000; i++) {
    const body = randomBytes(random, 6 + Math.floor(random() * 400));
    body[5] = Math.floor(random() * 4);
    if (body.length > 8) body[6] = 1 + Math.floor(random() * 4);
    onlyDecodeErrors(() => decodeBody(MessageType.Gossip, body), "decodeBody(items)", seed);
  }
});
