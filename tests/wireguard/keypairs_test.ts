import { assertEquals } from "../assert.ts";
import { IndexTable } from "../../lib/wireguard/index_table.ts";
import { type Keypair, PeerKeypairs } from "../../lib/wireguard/keypairs.ts";

let nextIndex = 1;
function keypair(isInitiator: boolean, createdAt = 0): Keypair {
  return {
    id: nextIndex,
    localIndex: nextIndex++,
    remoteIndex: 0,
    sendKey: new Uint8Array(32).fill(7),
    receiveKey: new Uint8Array(32).fill(8),
    createdAt,
    isInitiator,
  };
}

Deno.test("keypairs: an initiator's new keypair is current at once; the old one is previous", () => {
  const slots = new PeerKeypairs();
  const first = keypair(true);
  const second = keypair(true);
  assertEquals(slots.install(first), []);
  assertEquals(slots.current, first);
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
  assertEquals(slots.current, old); // not yet: the initiator may not have it
  assertEquals(slots.confirm(old), null); // confirming a non-next keypair changes nothing
  slots.confirm(fresh);
  assertEquals([slots.previous, slots.current, slots.next], [old, fresh, null]);
  assertEquals(slots.current, fresh);
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

Deno.test("keypairs: clear empties every slot and returns what it dropped", () => {
  const slots = new PeerKeypairs();
  slots.install(keypair(true, 1_000));
  assertEquals(slots.clear().length, 1);
  assertEquals(slots.current, null);
});

Deno.test("index table: indices name their record in the low bits, are unique and never zero", () => {
  const values = [0, 0, 0x12345670, 0x12345670, 0xfffffff0];
  const table = new IndexTable<string, never>(16, () => values.shift() ?? 0x77777770);
  const a = table.allocate({ kind: "handshake", peer: "a" }); // record 0: random 0 would be 0
  const b = table.allocate({ kind: "handshake", peer: "b" });
  assertEquals([a, b], [0x12345670, 0x12345671]);
  assertEquals([table.recordOf(a), table.recordOf(b)], [0, 1]);
  assertEquals(table.lookup(a), { kind: "handshake", peer: "a" });
  table.free(a);
  assertEquals(table.lookup(a), undefined);
  assertEquals(table.size, 1);
  // Records are handed out round-robin: the freed record 0 comes back only after the others.
  const c = table.allocate({ kind: "handshake", peer: "c" });
  assertEquals(table.recordOf(c), 2);
});

Deno.test("index table: a full table says so instead of reusing a live record", () => {
  const table = new IndexTable<string, never>(4);
  for (let i = 0; i < 4; i++) table.allocate({ kind: "handshake", peer: String(i) });
  let message = "";
  try {
    table.allocate({ kind: "handshake", peer: "x" });
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message.includes("all 4 handshake and keypair records are in use"), true);
});
