import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ControllerCore, type ControllerOptions } from "../../lib/controller/controller_core.ts";
import { createControllerHandler } from "../../lib/controller/controller_http.ts";
import { SqliteControllerStore } from "../../lib/controller/sqlite_store.ts";
import { signReport } from "../../lib/controller/report_signature.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { readSigner } from "../../lib/controller/request_auth.ts";
import { MAX_REPORT_BYTES } from "../../lib/controller/benchmark_report.ts";

const T0 = Date.UTC(2026, 0, 5, 12, 0, 10);
const IDS = ["node-a", "node-b"];

async function withController(
  fn: (env: {
    call: (method: string, path: string, body?: unknown, as?: number | string) => Promise<Response>;
    store: SqliteControllerStore;
    signed: (index: number, overall: number, atMs: number) => unknown;
    clock: { now: number };
    dbPath: string;
    reopen: () => void;
  }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "mg-controller-" });
  const dbPath = join(dir, "controller.db");
  const seeds = IDS.map((_, i) => new Uint8Array(32).fill(i + 11));
  const identities = await Promise.all(seeds.map(identityFromSeed));
  const clock = { now: T0 };
  let store = new SqliteControllerStore(dbPath);
  const options = (): ControllerOptions => ({
    nodes: new Map(IDS.map((id, i) => [id, identities[i].publicKey])),
    policy: { threshold: 0.7, maxAgeSeconds: 120 },
    limits: { skewSeconds: 30, reportsPerMinute: 10 },
    epochSeconds: 60,
    allowUnsigned: false,
    store,
    random: (bytes) => crypto.getRandomValues(bytes),
  });
  const build = () =>
    createControllerHandler(new ControllerCore(options(), clock.now), {
      now: () => clock.now,
      warn: () => {},
      info: () => {},
      onStateChange: () => {},
    });
  let handler = build();
  const readers = seeds.map((seed) => readSigner(seed));
  /** `as`: sign the read as that node (index), or this raw authorization header. */
  const call = (method: string, path: string, body?: unknown, as?: number | string) =>
    handler(
      new Request(`http://controller${path}`, {
        method,
        headers: as === undefined ? {} : {
          authorization: typeof as === "string"
            ? as
            : readers[as](IDS[as], new URL(`http://c${path}`).pathname, clock.now),
        },
        body: body === undefined
          ? undefined
          : typeof body === "string"
          ? body
          : JSON.stringify(body),
      }),
    );
  const signed = (index: number, overall: number, atMs: number) =>
    signReport({
      node_id: IDS[index],
      timestamp: new Date(atMs).toISOString().replace("Z", "+00:00"),
      suite_version: "poc-0.1",
      scores: { overall },
    }, seeds[index]);
  try {
    await fn({
      call,
      get store() {
        return store;
      },
      signed,
      clock,
      dbPath,
      reopen: () => {
        store.close();
        store = new SqliteControllerStore(dbPath);
        handler = build();
      },
    });
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("http: the PoC's paths and JSON shapes", async () => {
  await withController(async ({ call, signed }) => {
    assertEquals(await (await call("GET", "/health")).json(), { status: "ok", epoch_id: 1 });
    const posted = await call("POST", "/v1/benchmarks/node-a", signed(0, 0.9, T0));
    assertEquals(posted.status, 200);
    assertEquals(await posted.json(), { status: "received", node_id: "node-a", epoch_id: 1 });
    await call("POST", "/v1/benchmarks/node-b", signed(1, 0.8, T0));
    const epoch = await (await call("GET", "/v1/epoch")).json();
    assertEquals(epoch.epoch_id, 1);
    assertEquals(epoch.expiry_utc, "2026-01-05T12:01:00Z");
    assertTrue(/^sha256:[0-9a-f]{16}$/.test(epoch.secret_hash));
    assertEquals(epoch.nodes["node-a"], {
      membership: "ALLOWED",
      reason: "score 0.90 >= 0.70, fresh",
    });
    const a = await (await call("GET", "/v1/config/node-a", undefined, 0)).json();
    const b = await (await call("GET", "/v1/config/node-b", undefined, 1)).json();
    assertEquals(a.allowed, true);
    assertEquals(typeof a.psk_base64, "string");
    assertEquals(a.peer_psks["node-b"], b.peer_psks["node-a"]);
    const peers = await (await call("GET", "/v1/peers/node-a", undefined, 0)).json();
    assertEquals(peers.allowed_subnet, "10.99.0.0/16");
    assertEquals(peers.peers[0].node_id, "node-b");
    assertTrue(/^10\.99\./.test(peers.peers[0].tunnel_ip));
    const rotated = await (await call("POST", "/v1/rotate")).json();
    assertEquals(rotated.epoch_id, 2);
    const metrics = await (await call("GET", "/metrics")).text();
    assertIncludes(
      metrics,
      'mesh_benchmark_submissions_total{node_id="node-a",result="accepted"} 1',
    );
    assertIncludes(metrics, "mesh_epoch_rotation_duration_seconds_count 2");
    const page = await call("GET", "/");
    assertIncludes(page.headers.get("content-type")!, "text/html");
  });
});

Deno.test("http: every bad input gets a clear 4xx and nothing is stored", async () => {
  await withController(async ({ call, store, signed }) => {
    const good = signed(0, 0.9, T0) as Record<string, unknown>;
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", "/v1/benchmarks/node-a", "x".repeat(MAX_REPORT_BYTES + 1), 413, /over 16384 bytes/],
      ["POST", "/v1/benchmarks/node-a", "{not json", 400, /not JSON/],
      ["POST", "/v1/benchmarks/node-b", good, 400, /node_id mismatch/],
      ["POST", "/v1/benchmarks/node-z", { ...good, node_id: "node-z" }, 404, /unknown node/],
      ["POST", "/v1/benchmarks/node-a", { ...good, scores: { overall: 1 } }, 401, /bad signature/],
      ["POST", "/v1/benchmarks/..%2Fetc", good, 400, /not a node id/],
      ["GET", "/v1/benchmarks/node-a", undefined, 405, /takes POST/],
      ["GET", "/v1/config/node-z", undefined, 404, /unknown node/],
      ["GET", "/v1/config/node-a", undefined, 401, /needs "authorization: Meshguard-Ed25519/],
      ["GET", "/v1/peers/node-a", undefined, 401, /needs "authorization/],
      ["GET", "/v2/nothing", undefined, 404, /no such path/],
    ];
    for (const [method, path, body, status, pattern] of cases) {
      const response = await call(method, path, body);
      const answer = await response.json();
      assertEquals(response.status, status, `${method} ${path}: ${answer.detail}`);
      assertTrue(pattern.test(answer.detail), `${answer.detail} !~ ${pattern}`);
    }
    assertEquals(store.reportCount, 0);
    assertEquals((await call("POST", "/v1/benchmarks/node-a", good)).status, 200);
    const replay = await call("POST", "/v1/benchmarks/node-a", good);
    assertEquals(replay.status, 409);
    assertIncludes((await replay.json()).detail, "replayed");
    assertEquals(store.reportCount, 1);
  });
});

Deno.test("sqlite store: 0600, WAL, append-only audit, a restart keeps the epoch sequence", async () => {
  await withController(async (env) => {
    const { call, signed, clock, dbPath, reopen } = env;
    assertEquals((await Deno.stat(dbPath)).mode! & 0o777, 0o600);
    await call("POST", "/v1/benchmarks/node-a", signed(0, 0.9, T0));
    clock.now = T0 + 55_000; // epoch 2 starts at 12:01:00
    await call("GET", "/health");
    clock.now = T0 + 115_000; // epoch 3
    const before = await (await call("GET", "/v1/epoch")).json();
    assertEquals(before.epoch_id, 3);
    reopen();
    const after = await (await call("GET", "/v1/epoch")).json();
    assertEquals(after.epoch_id, 3);
    assertEquals(after.secret_hash, before.secret_hash);
    assertEquals(after.nodes["node-a"].membership, "ALLOWED");
    const audit = env.store.audit(100);
    assertTrue(audit.filter((e) => e.kind === "rotation").length >= 3);
    assertTrue(audit.some((e) => e.kind === "decision" && e.nodeId === "node-a"));
    const db = new DatabaseSync(dbPath);
    try {
      assertEquals(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
      let refused = "";
      try {
        db.exec("DELETE FROM audit");
      } catch (error) {
        refused = (error as Error).message;
      }
      assertIncludes(refused, "append-only");
    } finally {
      db.close();
    }
  });
});

Deno.test("http: reads of a node's keys must be signed by that node, for that path, now", async () => {
  await withController(async ({ call, clock }) => {
    assertEquals((await call("GET", "/v1/config/node-a", undefined, 0)).status, 200);
    const sign = readSigner(new Uint8Array(32).fill(11)); // node-a's seed
    for (
      const [header, pattern] of [
        [sign("node-a", "/v1/peers/node-a", clock.now), /bad read signature/], // other path
        [sign("node-a", "/v1/config/node-a", clock.now - 31_000), /from the controller's clock/],
        [sign("node-b", "/v1/config/node-a", clock.now), /bad read signature/], // other id
        ["Bearer x", /needs "authorization/],
      ] as [string, RegExp][]
    ) {
      const response = await call("GET", "/v1/config/node-a", undefined, header);
      const detail = (await response.json()).detail;
      assertEquals(response.status, 401, detail);
      assertTrue(pattern.test(detail), detail);
    }
    const asOther = await call("GET", "/v1/config/node-a", undefined, 1);
    assertEquals(asOther.status, 401);
    assertIncludes((await asOther.json()).detail, "bad read signature");
  });
});
