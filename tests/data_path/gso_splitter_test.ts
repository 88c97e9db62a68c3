/**
 * The TUN offload's splitting of super-packets, on the real wasm core: segments carry the
 * super-packet's bytes in order with their own lengths, ids, sequence numbers, flags and
 * valid checksums; malformed headers are refused whole.
 */

import assert from "node:assert/strict";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { GsoSplitter } from "../../lib/device/gso_splitter.ts";
import { VIRTIO_NET_HEADER_SIZE } from "../../lib/device/virtio_net_header.ts";
import {
  checksumsValid,
  payloadByte,
  referenceSum,
  superPacket,
  type SuperPacketOptions,
} from "./offload_packets.ts";

const core = await CryptoCore.create({ arenaBytes: 1 << 18 });
const bytes = core.bytes;
const sum = (at: number, length: number) => core.exports.checksumSum(at, length);
const IN_AT = core.layout.arenaBase;
const OUT_AT = IN_AT + 70_000;

/** Splits `read` with segments of at most `room` bytes; copies of the segments. */
function split(splitter: GsoSplitter, read: Uint8Array, room: number): Uint8Array[] | null {
  bytes.set(read, IN_AT);
  if (!splitter.begin(IN_AT, read.length, room)) return null;
  const out: Uint8Array[] = [];
  for (let length; (length = splitter.next(OUT_AT)) > 0;) {
    out.push(bytes.slice(OUT_AT, OUT_AT + length));
  }
  return out;
}

Deno.test("the wasm checksum equals RFC 1071 for every length and alignment", () => {
  const data = new Uint8Array(300).map((_, i) => (i * 89 + 13) & 0xff);
  for (let offset = 0; offset < 8; offset++) {
    for (let length = 0; length <= 200; length++) {
      bytes.set(data.subarray(0, length), IN_AT + offset);
      assert.equal(sum(IN_AT + offset, length), referenceSum(data.subarray(0, length)));
    }
  }
  bytes.fill(0xff, IN_AT, IN_AT + 65536);
  assert.equal(sum(IN_AT, 65536), 0xffff);
});

const cases: [string, SuperPacketOptions, number][] = [
  ["TCP/IPv4", { payload: 64_000, gsoSize: 1380 }, 1420],
  ["TCP/IPv6", { v6: true, payload: 50_000, gsoSize: 1360 }, 1420],
  ["UDP/IPv4 (USO)", { udp: true, payload: 9_999, gsoSize: 1000 }, 1420],
  ["UDP/IPv6 (USO)", { udp: true, v6: true, payload: 4_001, gsoSize: 1372 }, 1420],
];
for (const [name, options, mtu] of cases) {
  Deno.test(`a ${name} super-packet splits into valid MTU-sized segments`, () => {
    const splitter = new GsoSplitter(bytes, sum);
    const segments = split(splitter, superPacket({ ...options, sequence: 0xffff_f000 }), mtu)!;
    assert.ok(segments !== null);
    assert.equal(segments.length, Math.ceil(options.payload / options.gsoSize));
    const ip = options.v6 ? 40 : 20;
    const header = ip + (options.udp ? 8 : 20);
    let offset = 0;
    segments.forEach((segment, i) => {
      assert.ok(segment.length <= mtu, `segment ${i} is ${segment.length} bytes`);
      assert.ok(checksumsValid(segment), `segment ${i}: bad checksum`);
      const view = new DataView(segment.buffer);
      if (options.v6) assert.equal(view.getUint16(4), segment.length - 40);
      else {
        assert.equal(view.getUint16(2), segment.length);
        assert.equal(view.getUint16(4), 0x1234 + i);
      }
      if (options.udp) assert.equal(view.getUint16(ip + 4), segment.length - ip);
      else {
        assert.equal(view.getUint32(ip + 4), (0xffff_f000 + offset) >>> 0, "sequence");
        const last = i === segments.length - 1;
        assert.equal(segment[ip + 13], last ? 0x18 : 0x10, "PSH only on the last");
      }
      for (let j = header; j < segment.length; j++) {
        if (segment[j] !== payloadByte(1, offset + j - header)) {
          assert.fail(`segment ${i} byte ${j} differs`);
        }
      }
      offset += segment.length - header;
    });
    assert.equal(offset, options.payload);
    assert.equal(splitter.superPackets, 1);
  });
}

Deno.test("a single packet with a partial checksum is finished; a full one passes as is", () => {
  const splitter = new GsoSplitter(bytes, sum);
  for (const v6 of [false, true]) {
    for (const udp of [false, true]) {
      const read = superPacket({ v6, udp, payload: 333, gsoSize: 0, plain: true });
      const [segment] = split(splitter, read, 1420)!;
      assert.equal(segment.length, read.length - VIRTIO_NET_HEADER_SIZE);
      assert.ok(checksumsValid(segment), `v6=${v6} udp=${udp}`);
      const done = segment.slice();
      const plain = new Uint8Array(VIRTIO_NET_HEADER_SIZE + done.length);
      plain.set(done, VIRTIO_NET_HEADER_SIZE);
      assert.deepEqual(split(splitter, plain, 1420), [done]);
    }
  }
});

Deno.test("malformed reads are refused whole and counted", () => {
  const splitter = new GsoSplitter(bytes, sum);
  const good = superPacket({ payload: 5000, gsoSize: 1380 });
  const bad: Uint8Array[] = [
    good.subarray(0, 25), // shorter than header + IPv4 header
    (() => {
      const r = good.slice();
      r[1] = 9;
      return r;
    })(), // unknown gso type
    (() => {
      const r = good.slice();
      r[1] = 4;
      return r;
    })(), // TCPV6 on IPv4
    (() => {
      const r = good.slice();
      r[4] = 0;
      r[5] = 0;
      return r;
    })(), // gso_size 0
    (() => {
      const r = good.slice();
      r[6] = 21;
      return r;
    })(), // csum_start off the L4 header
    (() => {
      const r = good.slice();
      r[0] = 0;
      return r;
    })(), // no NEEDS_CSUM on GSO
    (() => {
      const r = good.slice();
      r[10] = 0x25;
      return r;
    })(), // IP version 2
    (() => {
      const r = good.slice();
      r[19] = 17;
      return r;
    })(), // TCP GSO on UDP
  ];
  for (const [i, read] of bad.entries()) {
    assert.equal(split(splitter, read, 1420), null, `case ${i}`);
  }
  // Segments larger than the room (gso_size past the MTU) are refused, not sent oversize.
  assert.equal(split(splitter, superPacket({ payload: 5000, gsoSize: 1400 }), 1420), null);
  // A plain packet larger than the room is refused.
  assert.equal(
    split(splitter, superPacket({ payload: 2000, gsoSize: 0, plain: true }), 1420),
    null,
  );
  assert.equal(splitter.malformed, bad.length + 2);
});
