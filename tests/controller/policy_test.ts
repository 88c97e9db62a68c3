import { assertEquals, assertTrue } from "../assert.ts";
import { evaluateMembership } from "../../lib/controller/policy.ts";
import { parseTimestampMicros } from "../../lib/controller/timestamp.ts";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const report = (overall: number | undefined, timestamp = iso(NOW)) => ({
  timestamp,
  scores: (overall === undefined ? {} : { overall }) as Record<string, number>,
});

// The proof of concept's four membership tests (two of which failed upstream).
Deno.test("policy: a fresh report scoring 0.90 is allowed", () => {
  assertEquals(evaluateMembership(report(0.9), NOW), {
    membership: "ALLOWED",
    reason: "score 0.90 >= 0.70, fresh",
  });
});

Deno.test("policy: a score of 0.40 is denied with a reason about the score", () => {
  assertEquals(evaluateMembership(report(0.4), NOW), {
    membership: "DENIED",
    reason: "score 0.40 < threshold 0.70",
  });
});

Deno.test("policy: a report 150 s old is denied as too old", () => {
  assertEquals(evaluateMembership(report(0.9, iso(NOW - 150_000)), NOW), {
    membership: "DENIED",
    reason: "benchmark too old (150s > 120s)",
  });
});

Deno.test("policy: no report is denied with a reason about the benchmark", () => {
  assertEquals(evaluateMembership(null, NOW), {
    membership: "DENIED",
    reason: "no benchmark submitted",
  });
});

Deno.test("policy: boundaries are inclusive (exactly 0.70, exactly 120 s)", () => {
  assertEquals(evaluateMembership(report(0.7), NOW).membership, "ALLOWED");
  assertEquals(evaluateMembership(report(0.6999), NOW).membership, "DENIED");
  assertEquals(evaluateMembership(report(0.9, iso(NOW - 120_000)), NOW).membership, "ALLOWED");
  assertEquals(evaluateMembership(report(0.9, iso(NOW - 120_001)), NOW).membership, "DENIED");
});

Deno.test("policy: the rule's order holds (too old wins over a low score), missing overall is 0", () => {
  assertEquals(
    evaluateMembership(report(0.1, iso(NOW - 200_000)), NOW).reason,
    "benchmark too old (200s > 120s)",
  );
  assertEquals(evaluateMembership(report(undefined), NOW).reason, "score 0.00 < threshold 0.70");
  assertEquals(
    evaluateMembership(report(0.9, "yesterday"), NOW).reason,
    "benchmark too old (infs > 120s)",
  );
});

Deno.test("policy: thresholds are configurable", () => {
  const policy = { threshold: 0.5, maxAgeSeconds: 10 };
  assertEquals(evaluateMembership(report(0.55), NOW, policy).membership, "ALLOWED");
  assertEquals(
    evaluateMembership(report(0.9, iso(NOW - 11_000)), NOW, policy).reason,
    "benchmark too old (11s > 10s)",
  );
});

Deno.test("policy: offsets other than Z are parsed (the PoC's timezone bug denied everyone)", () => {
  // 13:00 at +01:00 and 06:30 at -05:30 are both 12:00 UTC.
  for (const timestamp of ["2026-01-05T13:00:00+01:00", "2026-01-05T06:30:00.000000-05:30"]) {
    assertEquals(parseTimestampMicros(timestamp), NOW * 1000);
    assertEquals(evaluateMembership(report(0.9, timestamp), NOW).membership, "ALLOWED");
  }
  // 12:00 at +02:00 is 10:00 UTC: two hours old.
  assertEquals(
    evaluateMembership(report(0.9, "2026-01-05T12:00:00+02:00"), NOW).reason,
    "benchmark too old (7200s > 120s)",
  );
});

Deno.test("timestamps: microseconds kept, impossible dates refused", () => {
  assertEquals(parseTimestampMicros("2026-01-05T12:00:00.000001Z"), NOW * 1000 + 1);
  assertEquals(parseTimestampMicros("2026-01-05T12:00:00.123456789Z"), NOW * 1000 + 123456);
  for (
    const bad of [
      "2026-02-30T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-01-05T24:00:00Z",
      "2026-01-05T12:00:00",
      "2026-01-05T12:00:00+25:00",
      "1736078400",
    ]
  ) {
    assertTrue(parseTimestampMicros(bad) === null, bad);
  }
});
