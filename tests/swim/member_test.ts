/**
 * The Member on its own: the flags packed in one integer with the listed index stay
 * independent of each other, and the out-of-line part reads its defaults until written.
 */

import { Member } from "../../lib/swim/member.ts";
import type { Address } from "../../lib/swim/address.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { TokenBucket } from "../../lib/swim/token_bucket.ts";
import { mulberry32 } from "./sim/prng.ts";

/** What the packed flags and the list index read as, in one comparable row. */
function packedRow(member: Member): unknown[] {
  return [
    member.state,
    member.removed,
    member.inProven,
    member.countedAlive,
    member.hasVerified,
    member.probeUnanswered,
    member.probing,
    member.listIndex,
  ];
}

Deno.test("member: packed flags, probing and the listed index never disturb each other", () => {
  const random = mulberry32(7);
  const member = new Member(new Uint8Array(32), "k");
  const states = ["alive", "suspect", "dead", "left"] as const;
  const expected: unknown[] = packedRow(member);
  assertEquals(expected, ["alive", false, false, false, false, false, false, -1]);
  const address = "10.0.0.1:51821" as Address;
  for (let step = 0; step < 2_000; step++) {
    const bit = random() < 0.5;
    switch (Math.floor(random() * 8)) {
      case 0:
        member.state = expected[0] = states[Math.floor(random() * 4)];
        break;
      case 1:
        member.removed = expected[1] = bit;
        break;
      case 2:
        member.inProven = expected[2] = bit;
        break;
      case 3:
        member.countedAlive = expected[3] = bit;
        break;
      case 4:
        member.verified = bit ? address : null;
        expected[4] = bit;
        break;
      case 5:
        member.probeUnanswered = expected[5] = bit;
        break;
      case 6:
        member.probing = expected[6] = bit;
        break;
      case 7:
        // The member cap is 65,536: the largest index must fit beside every flag.
        member.listIndex = expected[7] = random() < 0.2
          ? 65_535
          : Math.floor(random() * 65_537) - 1;
        break;
    }
    assertEquals(packedRow(member), expected, `step ${step}`);
    assertEquals(member.verified, expected[4] ? address : null, `step ${step}: verified`);
  }
});

Deno.test("member: the out-of-line part reads defaults until written, then what was written", () => {
  const member = new Member(new Uint8Array(32), "k");
  const defaults = () => [
    member.introPending,
    member.syncPending,
    member.syncBucket,
    member.syncCursor,
    member.syncTries,
    member.suspicion,
    member.timer,
    member.claims,
  ];
  assertEquals(defaults(), [false, null, null, -1, 0, null, null, null]);
  // Writing defaults is allowed before anything else was written.
  member.syncCursor = -1;
  member.claims = null;
  assertEquals(defaults(), [false, null, null, -1, 0, null, null, null]);
  const pending = { cursor: 3, flags: 1 };
  const claims = new Set(["a"]);
  member.introPending = true;
  member.syncPending = pending;
  member.syncCursor = 9;
  member.syncTries = 2;
  member.claims = claims;
  assertEquals(defaults(), [true, pending, null, 9, 2, null, null, claims]);
  member.checkAddress = "10.0.0.2:1" as Address;
  assertEquals([member.checkAddress, member.verified], ["10.0.0.2:1", null]);
});

Deno.test("member: releaseIdle changes nothing a getter reads but a sync bucket refilled by then", () => {
  const random = mulberry32(5);
  let dropped = 0;
  for (let run = 0; run < 500; run++) {
    const member = new Member(new Uint8Array(32), "k");
    const pick = <T>(value: T, other: T): T => random() < 0.15 ? value : other;
    member.introPending = pick(true, false);
    member.syncPending = pick({ cursor: 1, flags: 0 }, null);
    member.syncCursor = pick(4, -1);
    member.syncTries = pick(1, 0);
    member.claims = pick(new Set(["c"]), null);
    member.unlistedSince = pick(12.5, 0);
    const now = 10_000 * random();
    let bucket: TokenBucket | null = null;
    if (random() < 0.6) {
      bucket = member.syncBucket = new TokenBucket(200, 200);
      for (let i = Math.floor(random() * 300); i > 0; i--) bucket.take(now - 2_000 * random());
    }
    const before = readAll(member);
    member.releaseIdle(now);
    const full = bucket !== null && bucket.isFull(now);
    if (full) dropped++;
    assertEquals(member.syncBucket, full ? null : bucket, `run ${run}: bucket`);
    assertEquals(readAll(member).slice(1), before.slice(1), `run ${run}: the rest`);
  }
  assertTrue(dropped > 20, "refilled buckets dropped");
});

/** Every out-of-line field, the sync bucket first. */
function readAll(member: Member): unknown[] {
  return [
    member.syncBucket,
    member.introPending,
    member.syncPending,
    member.syncCursor,
    member.syncTries,
    member.suspicion,
    member.timer,
    member.claims,
    member.unlistedSince,
  ];
}
