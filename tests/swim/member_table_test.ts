/**
 * The member table on its own: each transition, and its invariants (the live count, the listed
 * array, the dead set and the proven list agree with the members' own fields) after long
 * seeded random sequences of the transitions the protocol parts make.
 */

import { Member } from "../../lib/swim/member.ts";
import { MemberTable } from "../../lib/swim/member_table.ts";
import { randomAlive } from "../../lib/swim/member_picks.ts";
import type { AliveRecord } from "../../lib/swim/records.ts";
import { keyId } from "../../lib/swim/records.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { keyOf, recordOf } from "./helpers.ts";
import { mulberry32 } from "./sim/prng.ts";

/** Stands in for a verified record: the table never reads one, it only tells listed apart. */
const RECORD = { endpoints: [] } as unknown as AliveRecord;

/** Every invariant the table promises; `label` names the step that broke one. */
function checkInvariants(table: MemberTable, label: string): void {
  // Read without warming cold entries (the checks must not change what they check).
  const entries = [...table.entries()];
  const members = entries.filter((entry): entry is Member => entry instanceof Member);
  const listed = table.listed;
  let alive = 0;
  listed.forEach((entry, i) => {
    assertTrue(table.peek(entry.id) === entry, `${label}: a listed entry is not in the table`);
    if (!(entry instanceof Member)) {
      alive++;
      return;
    }
    assertEquals(entry.listIndex, i, `${label}: listIndex out of step`);
    if (entry.state === "alive") alive++;
  });
  assertEquals(
    entries.length - members.length,
    listed.filter((entry) => !(entry instanceof Member)).length,
    `${label}: a cold entry is not listed`,
  );
  assertEquals(table.aliveCount, alive, `${label}: aliveCount ≠ listed alive members`);
  assertEquals(
    members.filter((member) => member.isListed).length,
    listed.filter((entry) => entry instanceof Member).length,
    `${label}: a member claims to be listed but is not in the listed array`,
  );
  for (const member of members) {
    assertEquals(
      member.isListed,
      member.record !== null && !member.removed,
      `${label}: listed ≠ (has a record and not removed)`,
    );
    assertEquals(
      member.countedAlive,
      member.isListed && member.state === "alive",
      `${label}: countedAlive out of step`,
    );
    assertEquals(
      table.dead.has(member),
      member.state === "dead" && member.record !== null,
      `${label}: dead set out of step`,
    );
    assertEquals(
      member.inProven,
      table.proven.includes(member.id),
      `${label}: inProven out of step`,
    );
    assertEquals(
      member.probeUnanswered,
      table.contacts.lastProbe(member) > table.contacts.lastDirect(member),
      `${label}: probeUnanswered ≠ (lastProbe > lastDirect)`,
    );
  }
  for (const member of table.dead) {
    assertTrue(table.get(member.id) === member, `${label}: a forgotten member is in the dead set`);
  }
  // "" stands for forgotten members' stale entries (each forgotten Member had its own).
  const proven = table.proven.filter((id) => id !== "");
  assertEquals(new Set(proven).size, proven.length, `${label}: proven duplicates`);
}

Deno.test("member table: join, suspect, dead, revive, leave, remove and forget keep the lists", () => {
  const table = new MemberTable();
  const key = keyOf(1);
  const member = table.memberFor(key, keyId(key))!;
  assertTrue(member !== null && table.size === 1 && !member.isListed);
  member.record = RECORD;
  assertTrue(table.join(member, 10), "a first join lists");
  assertEquals([table.aliveCount, table.listed.length, table.stateSince(member)], [1, 1, 10]);
  assertTrue(!table.join(member, 11), "a second join does not list twice");
  table.suspect(member, 20);
  assertEquals([table.aliveCount, member.state], [0, "suspect"]);
  table.revive(member, 25);
  assertEquals([table.aliveCount, member.state], [1, "alive"]);
  table.suspect(member, 30);
  table.declareDead(member, 40);
  assertTrue(table.dead.has(member) && table.aliveCount === 0);
  table.remove(member);
  assertTrue(!member.isListed && table.listed.length === 0, "removed = unlisted");
  assertTrue(table.dead.has(member), "a removed dead member is still pinged to reconnect");
  assertTrue(table.get(member.id) === member, "a removed member keeps its version");
  table.sessions.acceptHello(table.contacts.sessionOf(member), 5, 7);
  table.contacts.noteProbe(member, 30);
  table.contacts.noteCheck(member, 31);
  assertEquals([table.contacts.lastProbe(member), table.contacts.lastCheck(member)], [30, 31]);
  member.latestEpoch = 5;
  table.forget(member);
  assertEquals([table.size, table.dead.size, table.tombstoneCount], [0, 0, 1]);
  const again = table.candidate(key, keyId(key))!;
  assertTrue(again !== member && table.size === 0, "a candidate stays out of the table");
  assertEquals(
    [table.sessions.helloCounter(again.sessionSlot), again.latestEpoch],
    [7, 5],
    "tombstone restored",
  );
  assertEquals(
    [table.contacts.lastProbe(again), table.contacts.lastCheck(again)],
    [-Infinity, -Infinity],
    "probe times are the Member's: a restored member starts untried",
  );
  table.keep(again);
  assertEquals([table.size, table.tombstoneCount], [1, 0]);
  again.record = RECORD;
  table.join(again, 50);
  table.leave(again, 60);
  assertEquals([table.aliveCount, table.listed.length, table.dead.size], [0, 1, 0]);
  table.revoke(again);
  assertEquals([table.listed.length, again.record, again.epoch, table.size], [0, null, 0, 1]);
  checkInvariants(table, "walkthrough");
});

Deno.test("member table: invariants hold after seeded random transition sequences", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = mulberry32(seed);
    const table = new MemberTable();
    const pickRandom = mulberry32(seed + 1000);
    const keys = 24;
    // When each member's state last changed, as the transitions below promise it (0: never).
    const since = new Map<string, number>();
    let now = 0;
    for (let step = 0; step < 1_500; step++) {
      // Fractional, as simulated times are.
      now += 0.5 + random();
      const n = Math.floor(random() * keys);
      const key = keyOf(n);
      const id = keyId(key);
      // Nothing a peek returns may change while `changes` stays (inbound.ts relies on it).
      const changes = table.changes;
      const peeked = Array.from({ length: keys }, (_, k) => table.peek(keyId(keyOf(k))));
      const member: Member | null = table.get(id) ?? null;
      const op = Math.floor(random() * 13);
      let label = `seed ${seed} step ${step}`;
      if (member === null && op < 3 && table.joinCold(recordOf(key), now)) {
        // First sight in gossip: listed cold, without a Member, until something touches it.
        since.set(id, now);
        label += " cold";
      } else if (member === null) {
        // First sight (a Hello or an authenticated datagram), sometimes with its record.
        const fresh = random() < 0.5 ? table.memberFor(key, id) : (() => {
          const candidate = table.candidate(key, id)!;
          table.keep(candidate);
          return candidate;
        })();
        label += " new";
        if (fresh !== null && random() < 0.7) {
          fresh.record = RECORD;
          table.join(fresh, now);
          since.set(id, now);
          label += "+join";
        }
      } else if (op === 0 || op === 1) {
        // A newer alive record, as onAlive applies it.
        member.record = RECORD;
        if (!member.isListed || member.state === "left") {
          table.join(member, now);
          since.set(id, now);
        } else if (member.state === "suspect" || member.state === "dead") {
          table.revive(member, now);
          since.set(id, now);
        }
        label += " alive";
      } else if (op === 2 && member.isListed && member.state === "alive") {
        table.suspect(member, now);
        since.set(id, now);
        label += " suspect";
      } else if (op === 3 && member.isListed && member.state === "suspect") {
        table.declareDead(member, now);
        since.set(id, now);
        label += " dead";
      } else if (
        op === 4 && member.record !== null && !member.removed && member.state !== "left"
      ) {
        table.leave(member, now);
        since.set(id, now);
        label += " leave";
      } else if (
        op === 5 && !member.removed && (member.state === "dead" || member.state === "left")
      ) {
        table.remove(member);
        label += " remove";
      } else if (op === 6 && member.removed) {
        if (random() < 0.5) table.contacts.sessionOf(member);
        table.forget(member);
        since.delete(id);
        label += " forget";
      } else if (op === 7 && (member.record !== null || member.isListed)) {
        table.revoke(member);
        label += " revoke";
      } else if (op === 8) {
        table.addProven(member);
        label += " proven";
      } else if (op === 9) {
        for (const pick of randomAlive(table, pickRandom, 3, member)) {
          assertTrue(pick !== member && pick.state === "alive" && pick.isListed, label);
        }
        label += " pick";
        label += " pick";
      } else if (op === 10) {
        // A probe starts (same ms as an ack now and then: answered only if it came after).
        const acked = table.contacts.lastDirect(member);
        table.contacts.noteProbe(member, random() < 0.2 && acked !== -Infinity ? acked : now);
        label += " probe";
      } else if (op === 11) {
        table.contacts.noteDirect(member, now);
        label += " direct";
      } else if (op === 12) {
        // Idle Members go back to cold (the protocol's own conditions aside).
        table.tidy(now, () => true);
        label += " tidy";
      }
      checkInvariants(table, label);
      if (table.changes === changes) {
        for (let k = 0; k < keys; k++) {
          assertTrue(table.peek(keyId(keyOf(k))) === peeked[k], `${label}: changes missed one`);
        }
      }
      for (const entry of table.entries()) {
        if (!(entry instanceof Member)) continue;
        assertEquals(table.stateSince(entry), since.get(entry.id) ?? 0, `${label}: stateSince`);
      }
    }
  }
});

Deno.test("member table: a cold entry reads as alive and listed, and warms into the Member onAlive would make", () => {
  const table = new MemberTable();
  const hotKey = keyOf(1);
  const hot = table.memberFor(hotKey, keyId(hotKey))!;
  hot.record = RECORD;
  table.join(hot, 5);
  const record = recordOf(keyOf(2));
  assertTrue(table.joinCold(record, 7), "an unknown key lists cold");
  assertTrue(!table.joinCold(record, 8), "a known key does not");
  assertEquals([table.size, table.listed.length, table.aliveCount], [2, 2, 2]);
  assertTrue(table.peek(record.id) === record, "peek leaves it cold");
  assertEquals(table.infoOf(record.id)?.address, "10.0.0.1:51821");
  const order = table.roundOrder();
  // Unlisting the hot member moves the cold entry into its place.
  table.leave(hot, 9);
  table.remove(hot);
  assertTrue(table.listed[0] === record, "the cold entry moved");
  const warm = table.resolve(order[1])!;
  assertTrue(warm instanceof Member && table.get(record.id) === warm, "resolve warms it once");
  assertEquals(
    [
      warm.listIndex,
      warm.state,
      table.stateSince(warm),
      warm.epoch,
      warm.incarnation,
      warm.latestEpoch,
    ],
    [0, "alive", 7, 3, 1, 3],
  );
  assertEquals([warm.address, warm.verified, warm.countedAlive, table.aliveCount], [
    "10.0.0.1:51821",
    null,
    true,
    1,
  ]);
  assertTrue(table.resolve(record) === warm, "its old round entry still resolves to it");
  table.roundOrder();
  assertTrue(table.resolve(record) === null, "not after a new round");
  checkInvariants(table, "cold");
});

Deno.test("member table: provenIndex says what verifiedOf and the entry's address say", () => {
  const table = new MemberTable();
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const record = recordOf(keyOf(i));
    assertTrue(table.joinCold(record, i));
    ids.push(record.id);
  }
  const proven = table.get(ids[1])!;
  table.contacts.sessionOf(proven);
  proven.verified = proven.address;
  const moved = table.get(ids[2])!;
  table.contacts.sessionOf(moved);
  moved.verified = moved.address;
  moved.address = "192.0.2.77:51820";
  const coldProven = table.get(ids[3])!;
  table.contacts.sessionOf(coldProven);
  coldProven.verified = coldProven.address;
  // Let the last one go: it is cold again, its proven address in its cold code.
  table.tidy(10, (m) => m === coldProven);
  assertTrue(!(table.peek(ids[3]) instanceof Member), "let go");
  for (const id of ids) {
    const entry = table.peek(id)!;
    const expected =
      table.verifiedOf(entry) === (entry instanceof Member ? entry.address : entry.endpoints[0]);
    assertEquals(table.provenIndex(id) >= 0, expected, `entry ${ids.indexOf(id)}`);
  }
  assertEquals(ids.map((id) => table.provenIndex(id) >= 0), [false, true, false, true]);
  assertEquals(table.provenIndex(keyId(keyOf(9))), -1, "not in the table");
});

Deno.test("member contacts: last pinged is the later of the last probe and the last check", () => {
  const table = new MemberTable();
  const key = keyOf(7);
  const member = table.memberFor(key, keyId(key))!;
  assertEquals(table.contacts.lastPinged(member), -Infinity, "no session: never pinged");
  table.contacts.noteDirect(member, 5);
  assertEquals(table.contacts.lastPinged(member), -Infinity, "an ack is not a ping of ours");
  table.contacts.noteCheck(member, 20);
  assertEquals(table.contacts.lastPinged(member), 20);
  table.contacts.noteProbe(member, 15);
  assertEquals(table.contacts.lastPinged(member), 20, "an earlier probe leaves the check");
  table.contacts.noteProbe(member, 30);
  assertEquals(table.contacts.lastPinged(member), 30);
});
