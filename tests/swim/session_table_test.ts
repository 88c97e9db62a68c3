/**
 * The session table's rows: every value written to a slot survives the growth steps that
 * later slots cause, and slots never share a value.
 */

import { SessionTable } from "../../lib/swim/session_table.ts";
import { assertEquals } from "../assert.ts";

/** Writes values unique to `slot` into every column. */
function fill(sessions: SessionTable, slot: number): void {
  sessions.accept(slot, slot + 1, slot * 3);
  sessions.acceptHello(slot, slot + 2, slot * 5);
  sessions.setShared(slot, new Uint8Array([slot & 255]));
  sessions.setTxKey(slot, slot + 3, new Uint8Array([1, slot & 255]));
  sessions.setRxKey(slot, slot + 4, new Uint8Array([2, slot & 255]));
  sessions.setLastProbe(slot, slot + 0.25);
  sessions.setLastCheck(slot, slot + 0.75);
  sessions.setCheckSeq(slot, 4_000_000_000 - slot);
  sessions.setRtt(slot, slot / 8);
  sessions.setLastDirect(slot, slot + 0.125);
  // One counter below the highest accepted: the mask column.
  sessions.accept(slot, slot + 1, slot * 3 - 1);
}

/** What every column holds for `slot`, read back. */
function read(sessions: SessionTable, slot: number): unknown[] {
  return [
    sessions.fresh(slot, slot + 1, slot * 3),
    sessions.fresh(slot, slot + 1, slot * 3 - 1),
    sessions.fresh(slot, slot + 1, slot * 3 - 2),
    sessions.fresh(slot, slot, slot * 3 + 1),
    sessions.helloSeen(slot, slot + 2, slot * 5),
    sessions.helloSeen(slot, slot + 2, slot * 5 + 1),
    sessions.helloCounter(slot),
    sessions.shared(slot)?.[0],
    sessions.txKey(slot, slot + 3)?.[1],
    sessions.txKey(slot, slot + 2),
    sessions.rxKey(slot, slot + 4)?.[1],
    sessions.lastProbe(slot),
    sessions.lastCheck(slot),
    sessions.checkSeq(slot),
    sessions.rtt(slot),
    sessions.lastDirect(slot),
  ];
}

/** What `read` must give for a slot `fill` wrote. */
function expectedOf(slot: number): unknown[] {
  return [
    false,
    false,
    true,
    false,
    true,
    false,
    slot * 5,
    slot & 255,
    slot & 255,
    null,
    slot & 255,
    slot + 0.25,
    slot + 0.75,
    4_000_000_000 - slot,
    slot / 8,
    slot + 0.125,
  ];
}

Deno.test("session table: every column keeps each slot's values across growth", () => {
  const sessions = new SessionTable();
  for (let n = 1; n < 3_000; n++) {
    const slot = sessions.open();
    assertEquals(slot, n - 1);
    // Slot 0 would need a counter of -1 below its highest: start the fill at slot 1.
    if (slot === 0) continue;
    fill(sessions, slot);
    assertEquals(read(sessions, slot), expectedOf(slot), `slot ${slot} just filled`);
    // Check a spread of earlier slots after each step (growth happens at varying sizes).
    for (let s = 1; s <= slot; s += 1 + (s >> 2)) {
      assertEquals(read(sessions, s), expectedOf(s), `slot ${s} after ${n} slots`);
    }
  }
});

Deno.test("session table: a slot without keys or Hello reads as empty, also after reuse", () => {
  const sessions = new SessionTable();
  const slots = Array.from({ length: 300 }, () => sessions.open());
  // Keys only for a late slot: the key arrays reach it without touching the ones before.
  sessions.setTxKey(slots[299], 5, new Uint8Array([9]));
  sessions.setCheckSeq(slots[7], 0xffff_ffff);
  sessions.accept(slots[7], 3, 40);
  sessions.accept(slots[7], 3, 8);
  for (const slot of [slots[0], slots[298]]) {
    assertEquals(sessions.shared(slot), undefined);
    assertEquals(sessions.txKey(slot, 0), null);
    assertEquals(sessions.rxKey(slot, 0), null);
    assertEquals(sessions.helloCounter(slot), -1);
    assertEquals(sessions.helloSeen(slot, 1, 0), false);
  }
  assertEquals(sessions.txKey(slots[299], 5)?.[0], 9);
  assertEquals(sessions.checkSeq(slots[7]), 0xffff_ffff, "a u32 seq reads back unsigned");
  // Counter 8 is exactly 31 below the highest: the window's top bit.
  assertEquals(sessions.fresh(slots[7], 3, 8), false);
  assertEquals(sessions.fresh(slots[7], 3, 9), true);
  // A closed slot handed out again starts empty.
  sessions.acceptHello(slots[299], 4, 2);
  sessions.close(slots[299]);
  const again = sessions.open();
  assertEquals(again, slots[299]);
  assertEquals(sessions.txKey(again, 5), null);
  assertEquals(sessions.helloCounter(again), -1);
  assertEquals(sessions.checkSeq(again), 0);
  assertEquals(sessions.fresh(again, 1, 0), true);
});
