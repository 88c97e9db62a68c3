import { assertEquals, assertThrows, assertTrue } from "../assert.ts";
import { ControllerCore, type ControllerOptions } from "../../lib/controller/controller_core.ts";
import { MemoryControllerStore } from "../../lib/controller/controller_store.ts";
import { ControllerRequestError } from "../../lib/controller/controller_error.ts";
import { signReport } from "../../lib/controller/report_signature.ts";
import { DEFAULT_POLICY } from "../../lib/controller/policy.ts";
import { DEFAULT_ADMISSION_LIMITS } from "../../lib/controller/admission_limits.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import type { BenchmarkReport } from "../../lib/controller/benchmark_report.ts";

/** 2026-01-05T12:00:10Z: 10 s into a 60 s epoch. */
const T0 = Date.UTC(2026, 0, 5, 12, 0, 10);
const IDS = ["node-a", "node-b", "node-c"];

async function setup(overrides: Partial<ControllerOptions> = {}) {
  const seeds = IDS.map((_, i) => new Uint8Array(32).fill(i + 1));
  const identities = await Promise.all(seeds.map(identityFromSeed));
  const store = new MemoryControllerStore();
  let counter = 0;
  const options: ControllerOptions = {
    nodes: new Map(IDS.map((id, i) => [id, identities[i].publicKey])),
    policy: DEFAULT_POLICY,
    limits: DEFAULT_ADMISSION_LIMITS,
    epochSeconds: 60,
    allowUnsigned: false,
    store,
    random: (bytes) => bytes.fill(++counter),
    ...overrides,
  };
  const core = new ControllerCore(options, T0);
  const signed = (index: number, overall: number, atMs: number): BenchmarkReport =>
    signReport({
      node_id: IDS[index],
      timestamp: new Date(atMs).toISOString(),
      suite_version: "poc-0.1",
      scores: { overall, refusal: 0.9 },
    }, seeds[index]);
  return { core, store, options, signed };
}

function refused(fn: () => unknown, status: number, pattern: RegExp): void {
  assertThrows(fn, ControllerRequestError, pattern);
  try {
    fn();
  } catch (error) {
    assertEquals((error as ControllerRequestError).status, status);
  }
}

Deno.test("core: epochs are clock aligned; the first report is decided at once", async () => {
  const { core, signed } = await setup();
  assertEquals(core.epoch.id, 1);
  assertEquals(core.epoch.endMs, Date.UTC(2026, 0, 5, 12, 1, 0));
  assertEquals(core.config("node-a").allowed, null);
  assertEquals(core.config("node-a").reason, "no membership decision");
  assertEquals(core.submit("node-a", signed(0, 0.9, T0), T0).body, {
    status: "received",
    node_id: "node-a",
    epoch_id: 1,
  });
  assertEquals(core.membership("node-a"), "ALLOWED");
  // A later report changes nothing until the rotation.
  core.submit("node-a", signed(0, 0.1, T0 + 1000), T0 + 1000);
  assertEquals(core.membership("node-a"), "ALLOWED");
  assertTrue(core.tick(T0 + 50_000));
  assertEquals(core.epoch.id, 2);
  assertEquals(core.membership("node-a"), "DENIED");
  assertEquals(core.epochView().nodes["node-a"].reason, "score 0.10 < threshold 0.70");
  assertEquals(core.epochView().nodes["node-b"].membership, "DENIED");
});

Deno.test("core: both ends get the same pairwise key; a denied node gets none", async () => {
  const { core, signed } = await setup();
  core.submit("node-a", signed(0, 0.9, T0), T0);
  core.submit("node-b", signed(1, 0.85, T0), T0);
  core.submit("node-c", signed(2, 0.4, T0), T0);
  const a = core.config("node-a");
  const b = core.config("node-b");
  const c = core.config("node-c");
  assertEquals(a.peer_psks!["node-b"], b.peer_psks!["node-a"]);
  assertEquals(Object.keys(a.peer_psks!), ["node-b"]);
  assertTrue(a.psk_base64 !== b.psk_base64, "legacy per-node keys differ (why they fail)");
  assertEquals(c, {
    node_id: "node-c",
    epoch_id: 1,
    allowed: false,
    reason: "score 0.40 < threshold 0.70",
    expiry_utc: "2026-01-05T12:01:00Z",
  });
  assertEquals(core.peers("node-c").peers, []);
  assertEquals(core.peers("node-a").peers.map((p) => p.node_id), ["node-b"]);
});

Deno.test("core: the next epoch's keys are served in the epoch's second half", async () => {
  const { core, signed } = await setup();
  core.submit("node-a", signed(0, 0.9, T0), T0);
  core.submit("node-b", signed(1, 0.9, T0), T0);
  assertEquals(core.config("node-a").next_epoch, undefined);
  core.tick(T0 + 25_000);
  const early = core.config("node-a").next_epoch!;
  assertEquals(early.epoch_id, 2);
  assertEquals(early.start_utc, "2026-01-05T12:01:00Z");
  assertEquals(early.peer_psks["node-b"], core.config("node-b").next_epoch!.peer_psks["node-a"]);
  assertTrue(early.peer_psks["node-b"] !== core.config("node-a").peer_psks!["node-b"]);
  // Reports keep node-a fresh; at the rotation the early keys become the current ones.
  core.submit("node-a", signed(0, 0.9, T0 + 40_000), T0 + 40_000);
  core.submit("node-b", signed(1, 0.9, T0 + 40_000), T0 + 40_000);
  core.tick(T0 + 50_000);
  assertEquals(core.config("node-a").peer_psks!["node-b"], early.peer_psks["node-b"]);
});

Deno.test("core: bad submissions get a clear 4xx and nothing is stored", async () => {
  const { core, store, signed, options } = await setup();
  const good = signed(0, 0.9, T0);
  refused(() => core.submit("node-a", "[]", T0), 400, /must be a JSON object/);
  refused(() => core.submit("node-a", { ...good, scores: { overall: "high" } }, T0), 400, /finite/);
  refused(() => core.submit("node-b", good, T0), 400, /node_id mismatch/);
  refused(
    () => core.submit("node-z", { ...good, node_id: "node-z" }, T0),
    404,
    /unknown node "node-z"/,
  );
  refused(
    () => core.submit("node-a", { ...good, scores: { overall: 0.99 } }, T0),
    401,
    /bad signature/,
  );
  refused(() => core.submit("node-a", signed(1, 0.9, T0), T0), 400, /mismatch/);
  const bySomeoneElse = { ...signed(1, 0.9, T0), node_id: "node-a" };
  refused(() => core.submit("node-a", bySomeoneElse, T0), 401, /bad signature/);
  const unsigned = { ...good, signature: undefined };
  refused(() => core.submit("node-a", unsigned, T0), 401, /--allow-unsigned/);
  refused(() => core.submit("node-a", signed(0, 0.9, T0 + 31_000), T0), 400, /in the future/);
  refused(() => core.submit("node-a", signed(0, 0.9, T0 - 31_000), T0), 400, /old/);
  assertEquals(store.reportCount, 0);
  assertEquals(core.membership("node-a"), "UNKNOWN");
  core.submit("node-a", good, T0);
  refused(() => core.submit("node-a", good, T0 + 1), 409, /replayed/);
  assertEquals(store.reportCount, 1);
  assertTrue(options.nodes.size === 3);
});

Deno.test("core: at most 10 reports a minute per node", async () => {
  const { core, signed, store } = await setup();
  for (let i = 0; i < 10; i++) core.submit("node-a", signed(0, 0.9, T0 + i), T0 + i);
  refused(
    () => core.submit("node-a", signed(0, 0.9, T0 + 10), T0 + 10),
    429,
    /10 reports per minute/,
  );
  core.submit("node-b", signed(1, 0.9, T0 + 10), T0 + 10); // other nodes are not affected
  core.submit("node-a", signed(0, 0.9, T0 + 6_100), T0 + 6_100); // a token refilled after 6 s
  assertEquals(store.reportCount, 12);
});

Deno.test("core: --allow-unsigned accepts the PoC agent's unsigned reports", async () => {
  const { core } = await setup({ allowUnsigned: true });
  const result = core.submit("node-a", {
    node_id: "node-a",
    timestamp: "2026-01-05T12:00:10.000000Z",
    suite_version: "poc-0.1",
    scores: { overall: 0.9 },
    notes: null,
    signature: null,
  }, T0);
  assertTrue(result.unsigned);
  assertEquals(core.membership("node-a"), "ALLOWED");
  core.authorizeRead("node-a", null, "/v1/config/node-a", T0); // the PoC agent reads unsigned
  const strict = await setup();
  refused(
    () => strict.core.authorizeRead("node-a", null, "/v1/config/node-a", T0),
    401,
    /needs "authorization/,
  );
});

Deno.test("core: a restart on the same store keeps the epoch sequence and decisions", async () => {
  const { core, store, options, signed } = await setup();
  core.submit("node-a", signed(0, 0.9, T0), T0);
  core.tick(T0 + 50_000); // epoch 2
  core.tick(T0 + 110_000); // epoch 3
  assertEquals(core.epoch.id, 3);
  const same = new ControllerCore(options, T0 + 115_000);
  assertEquals(same.epoch.id, 3);
  assertEquals(same.epoch.secret, core.epoch.secret);
  // Down for longer than an epoch: the next id, not 1 again.
  const later = new ControllerCore(options, T0 + 600_000);
  assertEquals(later.epoch.id, 4);
  assertEquals(later.membership("node-a"), "DENIED");
  assertTrue(
    store.audit(100).some((e) => e.kind === "rotation" && e.detail.startsWith("epoch 4 ")),
  );
  const secretHex = encodeHex(core.epoch.secret);
  assertTrue(store.audit(100).every((e) => !e.detail.includes(secretHex)));
});

Deno.test("core: rotate really rotates", async () => {
  const { core } = await setup();
  const before = core.epochView();
  core.rotateNow(T0 + 1000);
  const after = core.epochView();
  assertEquals(after.epoch_id, before.epoch_id + 1);
  assertTrue(after.secret_hash !== before.secret_hash);
});

Deno.test("core: metrics use the PoC's names", async () => {
  const { core, signed } = await setup();
  core.submit("node-a", signed(0, 0.9, T0), T0);
  const text = core.metrics.render();
  for (
    const line of [
      'mesh_benchmark_submissions_total{node_id="node-a",result="accepted"} 1',
      'mesh_membership_changes_total{node_id="node-a",membership="ALLOWED"} 1',
      'mesh_node_score{node_id="node-a"} 0.9',
      "mesh_epoch_rotation_duration_seconds_count 1",
    ]
  ) assertTrue(text.includes(line), line);
});
