import { assertEquals } from "../assert.ts";
import { REJECT_AFTER_TIME } from "../../lib/wireguard/constants.ts";
import { IndexTable } from "../../lib/wireguard/index_table.ts";
import { type Keypair, PeerKeypairs } from "../../lib/wireguard/keypairs.ts";

let nextIndex = 1;
function keypair(isInitiator: boolean, createdAt = 0): Keypair {
  return {
    localIndex: nextIndex++,
    remoteIndex: 0,
    sendKey: new Uint8Array(32).fill(7),
    receiveKey: new Uint8Array(32).fill(8),
    createdAt,
    isInitiator,
    sendCounter: 0n,
  };
}

Deno.test("keypairs: an initiator's new keypair is current at once; the old one is previous", () => {
  const slots = new PeerKeypairs();
  const first = keypair(true);
  const second = keypair(true);
  assertEquals(slots.install(first), []);
  assertEquals(slots.forSending(0), first);
  assertEquals(slots.install(second), []);
  assertEquals([slots.previous, slots.current, slots.next], [first, second, null]);
  const third = keypair(true);
  assertEquals(slots.install(third), [first]);
  assertEquals(first.sendKey, new Uint8Array(32)); // dropped keys are wiped
});

Deno.test("keypairs: a responder's keypair waits in next until a packet confirms it", () => {
  const slots = new PeerKeypairs();
  const old = keypair(true);
  slots.install(old);
  const fresh = keypair(false);
  slots.install(fresh);
  assertEquals(slots.forSending(0), old); // not yet: the initiator may not have it
  assertEquals(slots.confirm(old), null); // confirming a non-next keypair changes nothing
  slots.confirm(fresh);
  assertEquals([slots.previous, slots.current, slots.next], [old, fresh, null]);
  assertEquals(slots.forSending(0), fresh);
});

Deno.test("keypairs: an initiation completing over an unconfirmed next keeps next as previous", () => {
  const slots = new PeerKeypairs();
  const current = keypair(true);
  slots.install(current);
  const unconfirmed = keypair(false);
  slots.install(unconfirmed);
  const mine = keypair(true);
  const dropped = slots.install(mine);
  assertEquals(dropped, [current]);
  assertEquals([slots.previous, slots.current, slots.next], [unconfirmed, mine, null]);
});

Deno.test("keypairs: nothing is sent with a keypair older than REJECT_AFTER_TIME", () => {
  const slots = new PeerKeypairs();
  slots.install(keypair(true, 1_000));
  assertEquals(slots.forSending(1_000 + REJECT_AFTER_TIME - 1) !== null, true);
  assertEquals(slots.forSending(1_000 + REJECT_AFTER_TIME), null);
  assertEquals(slots.clear().length, 1);
  assertEquals(slots.current, null);
});

Deno.test("index table: unique non-zero indices, even when the random source repeats", () => {
  const values = [0, 5, 5, 5, 9];
  const table = new IndexTable<string, never>(() => values.shift() ?? 77);
  const a = table.allocate({ kind: "handshake", peer: "a" });
  const b = table.allocate({ kind: "handshake", peer: "b" });
  assertEquals([a, b], [5, 9]);
  assertEquals(table.lookup(5), { kind: "handshake", peer: "a" });
  table.free(5);
  assertEquals(table.lookup(5), undefined);
  assertEquals(table.size, 1);
});
