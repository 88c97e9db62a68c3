/**
 * The JavaScript heap one WireGuard peer costs, exactly (RSS is too coarse at 100 peers): an
 * in-process device (the real engine and two data path loops, as the main thread and two workers
 * hold them, all in this one isolate) given N peers through the UAPI `set` that `wg set` sends,
 * each with an endpoint and an IPv4 /32 and IPv6 /128 allowed IP; heap used after a full GC,
 * before and after. Run: deno task bench:peer-heap [peers, default 1000]
 */

import { FakeNetwork } from "../tests/data_path/fake_network.ts";
import { InProcessDevice } from "../tests/data_path/in_process_device.ts";
import { encodeHex } from "../lib/encoding/base64.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc (deno task bench:peer-heap)");
const peers = Number(Deno.args[0] ?? 1000);
const device = await InProcessDevice.create({
  network: new FakeNetwork(),
  endpoint: "192.0.2.1:51820",
  now: 0,
  maxPeers: Math.max(1024, peers),
  keypairs: 4096,
  privateKey: crypto.getRandomValues(new Uint8Array(32)),
});

function heapAfterGc(): number {
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

const before = heapAfterGc();
let request = "set=1\n";
for (let i = 1; i <= peers; i++) {
  request += `public_key=${encodeHex(crypto.getRandomValues(new Uint8Array(32)))}\n` +
    `endpoint=192.0.2.${(i % 250) + 1}:51820\nreplace_allowed_ips=true\n` +
    `allowed_ip=10.99.${i >> 8}.${i & 255}/32\nallowed_ip=fd99:6d67::${i.toString(16)}/128\n`;
}
const answer = device.answer(request + "\n");
if (answer?.trim() !== "errno=0") throw new Error(`set failed: ${answer}`);
device.step(1);
const after = heapAfterGc();
console.log(
  `${peers} peers: heap +${((after - before) / 1048576).toFixed(2)} MiB, ${
    ((after - before) / peers / 1024).toFixed(2)
  } KiB per peer (engine + ${device.loops.length} data path loops)`,
);
await device.stop();
