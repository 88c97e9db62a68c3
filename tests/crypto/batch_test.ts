/**
 * The batch API: sealing or opening N descriptors in one call gives exactly what N single calls
 * give, and each failure mode lands in that descriptor's status without touching the others.
 */

import assert from "node:assert/strict";
import { BatchStatus, DescriptorTable } from "../../lib/crypto/batch.ts";
import type { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { REJECT_AFTER_MESSAGES, replayReset } from "../../lib/crypto/replay_window.ts";
import { assertBytes, coreFor, loadSodium, SeededRandom, seedFor, VARIANTS } from "./helpers.ts";

const PACKETS = 64;
const STRIDE = 1600;

/** WireGuard's transport nonce: 32 zero bits then the little-endian 64-bit counter. */
function wgNonce(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter, true);
  return n;
}

interface Packet {
  counter: bigint;
  slot: number;
  length: number;
  aad: Uint8Array;
  plaintext: Uint8Array;
}

function makePackets(rng: SeededRandom): Packet[] {
  return Array.from({ length: PACKETS }, (_, i) => ({
    counter: BigInt(i * 3 + rng.below(3)),
    slot: rng.below(8),
    length: i === 0 ? 0 : rng.below(STRIDE - 64),
    aad: rng.bytes(i % 4 === 0 ? 16 : 0),
    plaintext: new Uint8Array(0),
  })).map((p) => ({ ...p, plaintext: rng.bytes(p.length) }));
}

/** Lays the packets out in the arena and fills a descriptor table after them. */
function layOut(core: CryptoCore, packets: Packet[]): DescriptorTable {
  const base = core.layout.arenaBase;
  const aadBase = base + PACKETS * STRIDE;
  const table = new DescriptorTable(core, aadBase + PACKETS * 16, PACKETS);
  packets.forEach((p, i) => {
    core.bytes.set(p.plaintext, base + i * STRIDE);
    core.bytes.set(p.aad, aadBase + i * 16);
    table.push({
      counter: p.counter,
      keySlot: p.slot,
      offset: base + i * STRIDE,
      length: p.length,
      aadOffset: aadBase + i * 16,
      aadLength: p.aad.length,
    });
  });
  return table;
}

function sealedAt(core: CryptoCore, i: number, length: number): Uint8Array {
  const at = core.layout.arenaBase + i * STRIDE;
  return core.bytes.slice(at, at + length + 16);
}

for (const variant of VARIANTS) {
  Deno.test(`[${variant}] batch seal/open equals single calls and libsodium`, async () => {
    const core = await coreFor(variant);
    const sodium = await loadSodium();
    const rng = new SeededRandom(seedFor(`batch-${variant}`));
    const keys = Array.from({ length: 8 }, () => rng.bytes(32));
    keys.forEach((k, slot) => core.setKey(slot, k));
    const packets = makePackets(rng);
    const table = layOut(core, packets);
    assert.equal(table.seal(), PACKETS);
    const sealed = packets.map((p, i) => sealedAt(core, i, p.length));
    packets.forEach((p, i) => {
      assert.equal(table.status(i), BatchStatus.OK);
      const single = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
        p.plaintext,
        p.aad.length ? p.aad : null,
        null,
        wgNonce(p.counter),
        keys[p.slot],
      );
      assertBytes(sealed[i], single, `packet ${i}`);
    });
    // The same packets through N single aeadSeal calls on the same memory give the same bytes.
    const single = layOut(core, packets);
    packets.forEach((p, i) => {
      const nonceAt = single.base + PACKETS * 32;
      core.bytes.set(wgNonce(p.counter), nonceAt);
      const at = core.layout.arenaBase + i * STRIDE;
      const aadAt = core.layout.arenaBase + PACKETS * STRIDE + i * 16;
      core.exports.aeadSeal(
        core.keySlotAddress(p.slot),
        nonceAt,
        aadAt,
        p.aad.length,
        at,
        p.length,
      );
      assertBytes(sealedAt(core, i, p.length), sealed[i], `single ${i}`);
    });
    // Open in one batch, with the replay window on.
    for (let s = 0; s < 8; s++) replayReset(core, s);
    assert.equal(single.open(true), PACKETS);
    packets.forEach((p, i) => {
      assert.equal(single.status(i), BatchStatus.OK, `open ${i}`);
      const at = core.layout.arenaBase + i * STRIDE;
      assertBytes(core.bytes.slice(at, at + p.length), p.plaintext, `opened ${i}`);
    });
  });

  Deno.test(`[${variant}] batch statuses: auth failure, replay, counter limit, bad slot, bounds`, async () => {
    const core = await coreFor(variant);
    const rng = new SeededRandom(seedFor(`batch-status-${variant}`));
    for (let s = 0; s < 8; s++) core.setKey(s, rng.bytes(32));
    const packets = makePackets(rng);
    let table = layOut(core, packets);
    table.seal();
    const sealed = packets.map((p, i) => sealedAt(core, i, p.length));

    // Tamper with packet 5's tag: only packet 5 fails, and its bytes stay as they were.
    const base = core.layout.arenaBase;
    core.bytes[base + 5 * STRIDE + packets[5].length] ^= 0x80;
    const tampered = sealedAt(core, 5, packets[5].length);
    for (let s = 0; s < 8; s++) replayReset(core, s);
    assert.equal(table.open(true), PACKETS - 1);
    assert.equal(table.status(5), BatchStatus.AUTH_FAILED);
    assertBytes(sealedAt(core, 5, packets[5].length), tampered, "failed packet untouched");

    // Replaying the same (original) ciphertexts: each one that was accepted is now a replay;
    // packet 5 was never accepted (its tag was bad), so its untampered original still passes.
    table = layOut(core, packets);
    packets.forEach((_, i) => core.bytes.set(sealed[i], base + i * STRIDE));
    assert.equal(table.open(true), 1);
    packets.forEach((_, i) => {
      const want = i === 5 ? BatchStatus.OK : BatchStatus.REPLAYED;
      assert.equal(table.status(i), want, `replay ${i}`);
    });
    // Without the replay check the same batch opens fine.
    packets.forEach((_, i) => core.bytes.set(sealed[i], base + i * STRIDE));
    assert.equal(table.open(false), PACKETS);

    // Seal refuses counters at REJECT_AFTER_MESSAGES; bad slots and out-of-memory ranges fail.
    const odd = new DescriptorTable(core, base + PACKETS * STRIDE + 8192, 4);
    odd.push({ counter: REJECT_AFTER_MESSAGES, keySlot: 0, offset: base, length: 10 });
    odd.push({ counter: 1n, keySlot: core.layout.keySlots, offset: base, length: 10 });
    odd.push({ counter: 1n, keySlot: 0, offset: core.bytes.length - 20, length: 10 });
    odd.push({ counter: 1n, keySlot: 0, offset: base, length: 10 });
    const before = core.bytes.slice(base, base + 26);
    assert.equal(odd.seal(), 1);
    assert.equal(odd.status(0), BatchStatus.COUNTER_LIMIT);
    assert.equal(odd.status(1), BatchStatus.BAD_KEY_SLOT);
    assert.equal(odd.status(2), BatchStatus.OUT_OF_BOUNDS);
    assert.equal(odd.status(3), BatchStatus.OK);
    assert.notDeepEqual(core.bytes.slice(base, base + 26), before);
  });
}
