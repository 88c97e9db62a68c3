/**
 * The Member on its own: the flags packed in one integer with the listed index stay
 * independent of each other, and the out-of-line part reads its defaults until written.
 */

import { Member } from "../../lib/swim/member.ts";
import type { Address } from "../../lib/swim/address.ts";
import { assertEquals } from "../assert.ts";
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
