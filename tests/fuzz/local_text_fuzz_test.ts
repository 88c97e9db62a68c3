/**
 * Fuzz targets for the text the daemon reads from local sockets: UAPI requests (`wg` and the
 * daemon talking to a real engine), the daemon's parse of the device's `get=1` answer, and
 * control-socket requests and answers. Each may fail only with its documented typed error (or
 * an error answer), never leave the engine over its peer cap, and never hand `status` a value
 * it cannot print.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import {
  CONTROL_COMMANDS,
  ControlError,
  parseControlResponse,
  validateControlRequest,
} from "../../lib/control/control_protocol.ts";
import { parseDeviceSnapshot } from "../device_snapshot.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { WireguardEngine } from "../../lib/wireguard/engine.ts";
import { createNoisePrimitives } from "../../lib/wireguard/noise_primitives.ts";
import { handleUapiRequest, type UapiDevice } from "../../lib/wireguard/uapi.ts";
import { sampleStatus } from "../control/fixtures.ts";
import { ensure, Mutator, runFuzz, startFuzz, text, utf8 } from "./fuzz_kit.ts";

const MAX_PEERS = 8;
/** Largest time a JS Date can hold (ms): a handshake time past it cannot be printed. */
const MAX_DATE_MS = 8.64e15;

async function uapiDevice(): Promise<UapiDevice> {
  const core = await CryptoCore.create({ instances: 1, keySlots: 64 });
  const primitives = createNoisePrimitives(core);
  let port = 0;
  let mark = 0;
  const engine = new WireguardEngine({
    primitives,
    core,
    now: 0,
    maxPeers: MAX_PEERS,
    wallClock: () => 1_700_000_000_000,
    sink: { sendDatagram: () => {} },
  });
  return {
    engine,
    listenPort: () => port,
    setListenPort: (value) => port = value,
    fwmark: () => mark,
    setFwmark: (value) => mark = value,
    now: () => 1_000,
    wallClockAt: (t) => 1_700_000_000_000 + t,
  };
}

function uapiSeeds(keys: string[]): Uint8Array[] {
  const peer = (key: string, n: number) =>
    `public_key=${key}\npreshared_key=${keys[3]}\nendpoint=192.0.2.${n}:51820\n` +
    `persistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.99.0.${n}/32\n` +
    `allowed_ip=fd99:6d67::${n}/128\nprotocol_version=1\n`;
  return utf8(
    "get=1\n\n",
    `set=1\nprivate_key=${keys[0]}\nlisten_port=51820\nfwmark=7\nreplace_peers=true\n` +
      peer(keys[1], 1) + peer(keys[2], 2) + "\n",
    `set=1\npublic_key=${keys[1]}\nupdate_only=true\nendpoint=[fd99:6d67::9]:1\n\n`,
    `set=1\npublic_key=${keys[2]}\nremove=true\n\n`,
    `set=1\nlisten_port=65535\npublic_key=${keys[1]}\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n\n`,
    // Without private_key (a key change costs ~170 µs and resets everything): peer edits.
    "set=1\n" + peer(keys[2], 3) + "\n",
    `set=1\nfwmark=0\npublic_key=${keys[1]}\nreplace_allowed_ips=true\nallowed_ip=10.99.0.0/16\n\n`,
    "get=1\n\n",
  );
}

Deno.test("fuzz uapi: requests answer errno or close, the engine stays within its peer cap", async () => {
  const run = startFuzz("uapi");
  const device = await uapiDevice();
  const keys = Array.from({ length: 4 }, () => encodeHex(run.rng.bytes(32)));
  // Nine more peer keys than the cap: replace_peers and remove keep it from filling for good.
  const extra = Array.from(
    { length: MAX_PEERS + 1 },
    () => `public_key=${encodeHex(run.rng.bytes(32))}\n`,
  );
  const dictionary = utf8(
    "\n",
    "=",
    "/",
    ":",
    "[",
    "]",
    "-1",
    "4294967296",
    "9007199254740993",
    "1e3",
    "0x10",
    " ",
    "true",
    "remove=true\n",
    "replace_peers=true\n",
    "allowed_ip=",
    "endpoint=",
    ...extra,
  );
  const seeds = uapiSeeds(keys);
  const mutator = new Mutator(run.rng, { maxLength: 2048, dictionary });
  const outcomes = runFuzz("uapi", run, () => text(mutator.next(seeds)), (request) => {
    const answer = handleUapiRequest(device, request);
    ensure(device.engine.peers().length <= MAX_PEERS, "the engine grew past its peer cap");
    if (answer === null) return "closed";
    const match = /(?:^|\n)errno=(-?[0-9]+)\n\n$/.exec(answer);
    ensure(match !== null, `answer does not end with errno: ${JSON.stringify(answer.slice(-40))}`);
    if (request.startsWith("get=1")) {
      // The daemon's parser reads what the device renders: every peer, sane counters.
      const snapshot = parseDeviceSnapshot(answer);
      ensure(snapshot.size === device.engine.peers().length, "snapshot and engine disagree");
    }
    return `errno=${match![1]}`;
  });
  ensure((outcomes.get("errno=0") ?? 0) > 1000, "too few requests succeeded");
  ensure((outcomes.get("errno=-22") ?? 0) > 1000, "too few requests were refused");
});

Deno.test("fuzz device snapshot: any device answer gives printable peers and counters", () => {
  const run = startFuzz("device-snapshot");
  const seeds = utf8(
    "private_key=00\nlisten_port=51821\npublic_key=aa\npreshared_key=00\nprotocol_version=1\n" +
      "endpoint=192.0.2.2:51821\nlast_handshake_time_sec=1700000000\n" +
      "last_handshake_time_nsec=250000000\ntx_bytes=10\nrx_bytes=20\n" +
      "persistent_keepalive_interval=25\nallowed_ip=10.99.1.2/32\npublic_key=bb\n" +
      "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\nerrno=0\n\n",
  );
  const dictionary = utf8(
    "\n",
    "=",
    "-1",
    "NaN",
    "Infinity",
    "1e400",
    "9007199254740993",
    "99999999999999999999",
    "0x10",
    " ",
    "last_handshake_time_sec=",
    "rx_bytes=",
    "tx_bytes=",
    "public_key=",
  );
  const mutator = new Mutator(run.rng, { maxLength: 2048, dictionary });
  runFuzz("device-snapshot", run, () => text(mutator.next(seeds)), (answer) => {
    const peers = parseDeviceSnapshot(answer);
    for (const [key, peer] of peers) {
      for (const count of [peer.rxBytes, peer.txBytes]) {
        ensure(Number.isSafeInteger(count) && count >= 0, `peer ${key}: byte count ${count}`);
      }
      const at = peer.lastHandshake;
      ensure(
        at === null || (Number.isSafeInteger(at) && at > 0 && at <= MAX_DATE_MS),
        `peer ${key}: handshake time ${at}`,
      );
      // What status does with it must not throw.
      if (at !== null) new Date(at).toISOString();
    }
    return peers.size > 0 ? "peers" : "no peers";
  });
});

Deno.test("fuzz control requests: always a verdict, never an exception or an unknown command", () => {
  const run = startFuzz("control-request");
  const seeds = utf8(
    ...CONTROL_COMMANDS.map((c) => JSON.stringify({ command: c })),
    '{"command":1}',
  );
  const dictionary = utf8(
    '"',
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\\u0000",
    "null",
    "__proto__",
    "1e999",
  );
  const mutator = new Mutator(run.rng, { maxLength: 4096, dictionary });
  const outcomes = runFuzz("control-request", run, () => text(mutator.next(seeds)), (line) => {
    const verdict = validateControlRequest(line);
    if (!verdict.ok) {
      ensure(typeof verdict.error === "string" && verdict.error.length > 0, "empty error");
      return "refused";
    }
    ensure(
      (CONTROL_COMMANDS as readonly string[]).includes(verdict.request.command),
      "unknown command accepted",
    );
    return `accepted ${verdict.request.command}`;
  });
  ensure((outcomes.get("refused") ?? 0) > 1000, "too few requests refused");
});

Deno.test("fuzz control answers: only ControlError, and an accepted status has its shape", () => {
  const run = startFuzz("control-response");
  const seeds = utf8(
    JSON.stringify({ ok: true, status: sampleStatus() }),
    JSON.stringify({ ok: false, error: "not allowed" }),
    JSON.stringify({ ok: true }),
  );
  const dictionary = utf8('"', "{", "}", "[", "]", ":", ",", "null", "-1", "1.5", "1e999", "true");
  const mutator = new Mutator(run.rng, { maxLength: 8192, dictionary });
  runFuzz("control-response", run, () => text(mutator.next(seeds)), (answer) => {
    const command = run.rng.pick(CONTROL_COMMANDS);
    let response;
    try {
      response = parseControlResponse(answer, command);
    } catch (error) {
      if (error instanceof ControlError) return "refused";
      throw error;
    }
    if (!response.ok) {
      ensure(typeof response.error === "string", "an error answer without its text");
      return "error answer";
    }
    if (command === "status") {
      const status = (response as { status: ReturnType<typeof sampleStatus> }).status;
      ensure(Array.isArray(status.peers), "status without peers");
      for (const peer of status.peers) ensure(Number.isSafeInteger(peer.rx_bytes), "rx_bytes");
    }
    return `ok ${command}`;
  });
});
