/**
 * MemberTable.tidy letting idle Members go: a member let go and warmed again is the Member it
 * was, field for field (the protocol cannot tell), and members something still needs stay.
 */

import { Member } from "../../lib/swim/member.ts";
import { MemberTable } from "../../lib/swim/member_table.ts";
import { keyId } from "../../lib/swim/records.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { keyOf, recordOf } from "./helpers.ts";

/** Everything a Member says, and what the table keeps about it. */
function fields(table: MemberTable, m: Member): Record<string, unknown> {
  return {
    key: [...m.key],
    id: m.id,
    record: m.record,
    epoch: m.epoch,
    incarnation: m.incarnation,
    address: m.address,
    latestEpoch: m.latestEpoch,
    sessionSlot: m.sessionSlot,
    warmedFrom: m.warmedFrom,
    state: m.state,
    removed: m.removed,
    inProven: m.inProven,
    countedAlive: m.countedAlive,
    hasVerified: m.hasVerified,
    probeUnanswered: m.probeUnanswered,
    probing: m.probing,
    listIndex: m.listIndex,
    verified: m.verified,
    checkAddress: m.checkAddress,
    hasRare: m.hasRare,
    cooled: m.cooled,
    info: table.info(m),
    since: table.stateSince(m),
    times: [
      table.contacts.lastProbe(m),
      table.contacts.lastDirect(m),
      table.contacts.lastCheck(m),
      table.contacts.checkSeq(m),
    ],
    proven: table.proven.includes(m.id),
  };
}

/** A table of `count` members warmed from cold entries, each set up by `shape(member, i)`. */
function tableOf(count: number, shape: (table: MemberTable, m: Member, i: number) => void) {
  const table = new MemberTable();
  for (let i = 0; i < count; i++) {
    const record = recordOf(keyOf(i));
    assertTrue(table.joinCold(record, 10 + i));
    shape(table, table.get(record.id)!, i);
  }
  return table;
}

/**
 * Runs tidy until it visited every listed Member at least once: a round is 16 probes, and
 * each visits at least 8 of the Members on the tidy list.
 */
function tidyAll(table: MemberTable, now: number, mayLetGo: (m: Member) => boolean): void {
  for (let i = 0; i <= 16 + table.listed.length / 8; i++) table.tidy(now, mayLetGo);
}

Deno.test("let go: a member let go by tidy warms into the Member it was", () => {
  const table = tableOf(100, (table, m, i) => {
    if (i % 7 !== 0) table.contacts.sessionOf(m);
    if (i % 3 === 0 && m.sessionSlot >= 0) m.verified = m.address;
    if (i % 4 === 0 && m.sessionSlot >= 0) m.checkAddress = m.address;
    if (i % 5 === 0 && m.verified !== null) table.addProven(m);
    if (i % 2 === 0 && m.sessionSlot >= 0) table.contacts.noteProbe(m, 20 + i);
    if (i % 6 === 0 && m.sessionSlot >= 0) table.contacts.noteDirect(m, 30);
    if (i % 9 === 0 && m.sessionSlot >= 0) table.contacts.setRtt(m, 12.5 + i);
    if (i % 11 === 0 && m.sessionSlot >= 0) table.contacts.setCheckSeq(m, 77 + i);
  });
  const before = table.listed.map((entry) => entry as Member);
  const snapshots = before.map((m) => fields(table, m));
  const infos = before.map((m) => table.infoOf(m.id));
  const changes = table.changes;
  tidyAll(table, 100, () => true);
  assertTrue(table.changes !== changes, "letting go counts as a change (peeks are stale)");
  assertTrue(table.listed.every((entry) => !(entry instanceof Member)), "all let go");
  before.forEach((m, i) => {
    assertTrue(m.cooled, `member ${i}: the dropped object knows it is stale`);
    assertEquals(table.infoOf(m.id), infos[i], `member ${i}: info while cold`);
    assertEquals(
      table.verifiedOf(table.peek(m.id)!),
      m.verified,
      `member ${i}: verified while cold`,
    );
  });
  before.forEach((m, i) => {
    const again = table.resolve(m)!;
    assertTrue(again !== m && again === table.get(m.id), `member ${i}: a new Member, once`);
    assertEquals(fields(table, again), snapshots[i], `member ${i} warmed again`);
    assertTrue(again.record === m.record, `member ${i}: the same record`);
  });
});

Deno.test("let go: members something still needs stay Members", () => {
  const kept = new Map<number, string>([
    [0, "verified elsewhere"],
    [1, "pinned"],
    [2, "probing"],
    [3, "suspect"],
    [4, "introduction pending"],
    [5, "newer epoch heard"],
    [6, "record changed since warmed"],
    [7, "refused by the caller"],
    [8, "flags but no session"],
  ]);
  const table = tableOf(12, (table, m, i) => {
    if (i === 0) {
      table.contacts.sessionOf(m);
      m.verified = "10.9.9.9:1";
    }
    if (i === 1) table.pin(m);
    if (i === 2) m.probing = true;
    if (i === 3) table.suspect(m, 50);
    if (i === 4) m.introPending = true;
    if (i === 5) m.latestEpoch = 4;
    if (i === 6) m.record = { ...m.record! };
    if (i === 8) m.checkAddress = m.address;
  });
  const refused = table.listed[7] as Member;
  tidyAll(table, 100, (m) => m !== refused);
  for (const [i, why] of kept) {
    const entry = table.peek(keyId(keyOf(i)));
    assertTrue(entry instanceof Member && !entry.cooled, `${why}: kept`);
  }
  for (let i = 9; i < 12; i++) {
    assertTrue(!(table.peek(keyId(keyOf(i))) instanceof Member), `member ${i}: let go`);
  }
  const pinned = table.peek(keyId(keyOf(1))) as Member;
  table.unpin(pinned);
  tidyAll(table, 100, () => true);
  assertTrue(pinned.cooled, "let go once unpinned");
});

Deno.test("let go: a probe round entry of a member let go resolves to its successor", () => {
  const table = tableOf(3, () => {});
  const order = table.roundOrder();
  const member = order.find((entry) => entry instanceof Member) as Member;
  tidyAll(table, 100, () => true);
  assertTrue(member.cooled);
  const successor = table.resolve(member)!;
  assertTrue(successor !== member && successor === table.get(member.id));
  tidyAll(table, 200, () => true);
  assertTrue(table.resolve(member) !== successor && table.resolve(member)!.id === member.id);
  table.roundOrder();
  assertTrue(table.resolve(member) === null, "not after a new round");
});

Deno.test("let go: Members listed by join, also again after a removal, are visited once a tidy", () => {
  const table = new MemberTable();
  for (let i = 0; i < 40; i++) assertTrue(table.joinCold(recordOf(keyOf(i)), i));
  /** A Member listed the way onAlive lists one (not warmed from a cold entry). */
  const joined = (i: number): Member => {
    const key = keyOf(i);
    const m = table.memberFor(key, keyId(key))!;
    const record = recordOf(key);
    m.record = record;
    m.epoch = m.latestEpoch = record.epoch;
    m.incarnation = record.incarnation;
    m.address = record.endpoints[0];
    assertTrue(table.join(m, 50));
    return m;
  };
  const first = joined(100);
  const again = joined(101);
  table.suspect(again, 60);
  table.declareDead(again, 61);
  table.remove(again);
  assertTrue(!again.isListed);
  table.join(again, 70);
  assertTrue(again.isListed && again.state === "alive");
  const visits: string[] = [];
  table.tidy(80, (m) => {
    visits.push(m.id);
    return false;
  });
  assertEquals(visits.sort(), [first.id, again.id].sort(), "each Member once, no cold entry");
  tidyAll(table, 90, () => true);
  assertTrue(first.cooled && again.cooled, "both let go");
  assertTrue(table.listed.every((entry) => !(entry instanceof Member)), "nothing left warm");
});
