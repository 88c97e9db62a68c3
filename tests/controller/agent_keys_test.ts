import { assertEquals, assertThrows } from "../assert.ts";
import { AgentKeys, ControllerConfigError } from "../../lib/controller/agent_keys.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { parseScoreJson, ScoreSourceError } from "../../lib/controller/score_source.ts";
import { commandScoreSource, mockScoreSource } from "../../lib/controller/score_source.ts";

const peer = await identityFromSeed(new Uint8Array(32).fill(3));
const PEER_WG = encodeBase64(wireguardPublicKeyOf(peer.publicKey));
const PSK1 = encodeBase64(new Uint8Array(32).fill(1));
const PSK2 = encodeBase64(new Uint8Array(32).fill(2));
const at = (text: string) => Date.parse(`2026-01-05T12:${text}Z`);

/** A config as the controller serves it in the second half of epoch 7 (ends 12:01:00). */
const ALLOWED = {
  node_id: "node-a",
  epoch_id: 7,
  allowed: true,
  reason: "score 0.90 >= 0.70, fresh",
  expiry_utc: "2026-01-05T12:01:00Z",
  psk_base64: "ignored",
  peer_keys: { "node-b": encodeBase64(peer.publicKey) },
  peer_psks: { "node-b": PSK1 },
  next_epoch: {
    epoch_id: 8,
    start_utc: "2026-01-05T12:01:00Z",
    expiry_utc: "2026-01-05T12:02:00Z",
    peer_psks: { "node-b": PSK2 },
  },
};

function pskOf(keys: AgentKeys, now: number): string | null {
  const { admitted } = keys.admission(now);
  const entry = [...admitted].find(([key]) => encodeBase64(key) === PEER_WG);
  return entry ? encodeBase64(entry[1]) : null;
}

Deno.test("agent keys: the next epoch's key takes over at its start, by the local clock", () => {
  const keys = new AgentKeys(false);
  keys.update(ALLOWED);
  assertEquals(pskOf(keys, at("00:59.999")), PSK1);
  assertEquals(keys.nextChange(at("00:40")), at("01:00"));
  assertEquals(pskOf(keys, at("01:00")), PSK2);
  assertEquals(keys.admission(at("01:00")).epochId, 8);
});

Deno.test("agent keys: fail closed when every key expired; fail-open keeps the last", () => {
  const closed = new AgentKeys(false);
  closed.update(ALLOWED);
  const after = closed.admission(at("02:00"));
  assertEquals(after.admitted.size, 0);
  assertEquals(after.reason, "the controller's keys expired (unreachable?): failing closed");
  const open = new AgentKeys(true);
  open.update(ALLOWED);
  assertEquals(pskOf(open, at("05:00")), PSK2);
});

Deno.test("agent keys: a denied node drops every key; malformed configs are refused", () => {
  const keys = new AgentKeys(true);
  keys.update(ALLOWED);
  keys.update({
    node_id: "node-a",
    epoch_id: 8,
    allowed: false,
    reason: "score 0.30 < threshold 0.70",
  });
  assertEquals(keys.admission(at("00:30")).admitted.size, 0);
  assertEquals(keys.admission(at("00:30")).reason, "not allowed: score 0.30 < threshold 0.70");
  assertThrows(() => keys.update({ ...ALLOWED, peer_psks: { "node-b": "short" } }), Error);
  assertThrows(() => keys.update({ ...ALLOWED, expiry_utc: "soon" }), ControllerConfigError);
  assertThrows(() => keys.update("nope"), ControllerConfigError);
});

Deno.test("score sources: JSON shapes, a command, the mock emitter", async () => {
  assertEquals(parseScoreJson('{"overall":0.9,"honesty":0.8}', "x").scores, {
    overall: 0.9,
    honesty: 0.8,
  });
  const wrapped = parseScoreJson('{"scores":{"overall":0.7},"suite_version":"s1"}', "x");
  assertEquals([wrapped.scores.overall, wrapped.suiteVersion], [0.7, "s1"]);
  assertThrows(
    () => parseScoreJson('{"honesty":0.8}', "x"),
    ScoreSourceError,
    /no numeric "overall"/,
  );
  assertThrows(() => parseScoreJson("{", "x"), ScoreSourceError, /not JSON/);
  assertEquals((await commandScoreSource(`echo '{"overall": 0.75}'`)()).scores.overall, 0.75);
  let failed = "";
  await commandScoreSource("echo broken >&2; exit 3")().catch((e) => failed = e.message);
  assertEquals(failed, "--score-command exited with 3: broken");
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const mock = mockScoreSource(0.4, random);
  const draws = await Promise.all(Array.from({ length: 200 }, () => mock()));
  const mean = draws.reduce((sum, d) => sum + d.scores.overall, 0) / draws.length;
  assertEquals(Math.abs(mean - 0.4) < 0.03, true, `mean ${mean}`);
  assertEquals(draws.every((d) => d.scores.overall >= 0 && d.scores.overall <= 1), true);
});
