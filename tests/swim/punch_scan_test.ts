/**
 * The punch scan visits only listed entries whose `punchScan` bit is set (punch.ts), so the
 * table must set the bit on every transition after which the scan may have work for an entry
 * (listing, warming, a probe, a verification ping, a direct ack) and move it with the entry.
 */

import { MemberTable } from "../../lib/swim/member_table.ts";
import { keyId } from "../../lib/swim/records.ts";
import { assertEquals } from "../assert.ts";
import { keyOf, recordOf } from "./helpers.ts";

/** The listed indices whose bit is set. */
function setBits(table: MemberTable): number[] {
  const out: number[] = [];
  for (let i = 0; i < table.listed.length; i++) if (table.punchScan.has(i)) out.push(i);
  return out;
}

function clearAll(table: MemberTable): void {
  for (let i = 0; i < table.listed.length; i++) table.punchScan.clear(i);
}

Deno.test("punch scan bits: set by listing, warming, probes, checks and direct acks; moved with the entry", () => {
  const table = new MemberTable();
  const keys = [keyOf(1), keyOf(2), keyOf(3)];
  table.joinCold(recordOf(keys[0]), 0);
  table.joinCold(recordOf(keys[1]), 0);
  assertEquals(setBits(table), [0, 1]);
  const third = table.memberFor(keys[2], keyId(keys[2]), true)!;
  third.record = recordOf(keys[2]);
  table.join(third, 0);
  assertEquals(setBits(table), [0, 1, 2]);

  clearAll(table);
  table.contacts.noteProbe(third, 10);
  assertEquals(setBits(table), [2]);
  clearAll(table);
  table.contacts.noteCheck(third, 11);
  assertEquals(setBits(table), [2]);
  clearAll(table);
  table.contacts.noteDirect(third, 12);
  assertEquals(setBits(table), [2]);

  // Unlisting the first entry moves the last (with its bit) into its place.
  const first = table.get(keyId(keys[0]))!;
  table.remove(first);
  assertEquals(table.listed[0], third);
  assertEquals(setBits(table), [0]);
  clearAll(table);
  // Warming a cold entry sets its bit (its Member's fields decide from then on).
  const second = table.get(keyId(keys[1]))!;
  assertEquals(setBits(table), [1]);
  clearAll(table);
  table.contacts.noteCheck(second, 13);
  assertEquals(setBits(table), [1]);
  // Unlisting the last entry clears its bit.
  table.remove(second);
  assertEquals([setBits(table), table.punchScan.has(1)], [[], false]);
});
