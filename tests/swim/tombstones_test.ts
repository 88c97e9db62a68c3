/**
 * Tombstones keep every forgotten member's session slot until the bound pushes the oldest out,
 * and give back exactly the slots no tombstone or member holds any more.
 */

import { SessionTable } from "../../lib/swim/session_table.ts";
import { MAX_TOMBSTONES, Tombstones } from "../../lib/swim/tombstones.ts";
import { assertEquals } from "../assert.ts";

Deno.test("tombstones: a second burial of a key gives its older slot back, not its own", () => {
  const sessions = new SessionTable();
  const tombstones = new Tombstones(sessions);
  const first = sessions.open();
  tombstones.bury("a", first, 7);
  tombstones.bury("a", first, 8);
  assertEquals([sessions.size, tombstones.get("a")], [1, { session: first, latestEpoch: 8 }]);
  const second = sessions.open();
  tombstones.bury("a", second, 9);
  assertEquals([sessions.size, tombstones.size, tombstones.get("a")?.session], [1, 1, second]);
  // Revived: the member owns the slot again, so it stays open.
  tombstones.revive("a");
  assertEquals([sessions.size, tombstones.size, tombstones.has("a")], [1, 0, false]);
});

Deno.test("tombstones: past the bound the oldest goes, with its slot", () => {
  const sessions = new SessionTable();
  const tombstones = new Tombstones(sessions);
  for (let i = 0; i < MAX_TOMBSTONES; i++) tombstones.bury(`k${i}`, sessions.open(), i);
  // Buried again: now the newest, so k1 is the oldest.
  tombstones.bury("k0", tombstones.get("k0")!.session, 0);
  tombstones.bury("new", sessions.open(), 1);
  assertEquals(
    [tombstones.size, sessions.size, tombstones.has("k1"), tombstones.has("k0")],
    [MAX_TOMBSTONES, MAX_TOMBSTONES, false, true],
  );
});
