/**
 * The CPU cost of service policies on the whole data path, without the noise of a shared
 * machine's network stack: two in-process devices (real engine, real data path loops, real
 * wasm crypto, fake I/O) carry 1,420-byte TCP packets both ways, with no policy and with 64 rules
 * on the receiver (default deny, 63 misses, then the match: every packet walks all 64), plus its
 * flow recording on the way out. Settings alternate `rounds` times; prints packets/s per run and
 * the ratio of the medians (target ≥ 0.95). Rates are per CPU second of this process, so other
 * load on the machine does not skew them.
 * Run: deno task bench:policy-cpu [packets per run, default 50000] [rounds, default 3]
 */

import process from "node:process";
import { DeviceLab } from "../tests/data_path/in_process_device.ts";
import { policyPacket } from "../tests/unit/policy_packets.ts";
import { parsePolicyText } from "../lib/policy/policy_parser.ts";
import { ALLOW_ALL, compileDevicePolicy, type DevicePolicy } from "../lib/policy/device_policy.ts";
import { FlowTable } from "../lib/policy/flow_table.ts";
import { PolicyGate } from "../lib/policy/policy_gate.ts";
import { PolicyTable } from "../lib/policy/policy_table.ts";

const packets = Number(Deno.args[0] ?? 50000);
const rounds = Number(Deno.args[1] ?? 3);
const A = "10.99.0.1";
const B = "10.99.0.2";

const lines: string[] = [];
for (let i = 0; i < 63; i++) {
  lines.push(i % 3 === 0 ? `deny udp ${10000 + i}` : `allow tcp ${20000 + i * 2}-${20001 + i * 2}`);
}
lines.push("allow tcp 5201");
const sixtyFour: DevicePolicy = {
  defaultAction: "deny",
  global: { name: "global.policy", rules: parsePolicyText(lines.join("\n"), "global.policy") },
  peers: [],
  enforcing: true,
};

const lab = new DeviceLab(7);
const a = await lab.add("192.0.2.1:51820", { workers: 2 });
const b = await lab.add("192.0.2.2:51820", { workers: 2 });
lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
// b → a: data to a's port 5201 (checked on a); a → b: ACKs from 5201 (a records its flows).
const toA = Array.from({ length: 64 }, (_, i) =>
  policyPacket({
    from: B,
    to: A,
    protocol: 6,
    sourcePort: 40000 + (i % 8),
    destinationPort: 5201,
    body: 1380,
  }));
const toB = Array.from(
  { length: 64 },
  (_, i) =>
    policyPacket({
      from: A,
      to: B,
      protocol: 6,
      sourcePort: 5201,
      destinationPort: 40000 + (i % 8),
    }),
);
b.tun.send(toA[0]);
lab.settle();

/** This process's CPU time in seconds (user + system: immune to other load on the machine). */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Packets per CPU second for one run. */
function run(): number {
  const before = a.tun.written.length;
  const started = cpuSeconds();
  for (let sent = 0; sent < packets; sent += 64) {
    for (let i = 0; i < 64; i++) {
      b.tun.send(toA[i]);
      if (i % 4 === 0) a.tun.send(toB[i]);
    }
    lab.settle();
    // The fake TUN keeps what it was given: forget it so memory stays flat.
    a.tun.written.length = 0;
    b.tun.written.length = 0;
  }
  const seconds = cpuSeconds() - started;
  if (a.tun.written.length + before < 0) throw new Error("unreachable");
  return packets / seconds;
}

const results: Record<string, number[]> = { none: [], "64 rules": [] };
run(); // warm-up
for (let round = 0; round < rounds; round++) {
  for (const setting of ["none", "64 rules"] as const) {
    a.setPolicy(setting === "none" ? ALLOW_ALL : sixtyFour);
    const rate = run();
    results[setting].push(rate);
    console.log(
      `round ${round + 1}: ${setting}: ${Math.round(rate)} packets per CPU second (b → a)`,
    );
  }
}
const drops = a.policyDrops().reduce((sum, d) => sum + d.drops, 0);
if (drops !== 0) throw new Error(`the benchmark's own packets were dropped (${drops})`);
const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];

// The gate alone, in a tight loop: what one packet costs it (worst case: all 64 rules walked).
const table = PolicyTable.create(4);
table.publish(compileDevicePolicy(sixtyFour, () => undefined));
const gate = new PolicyGate(table, FlowTable.create());
const inbound = toA[1];
const outbound = toB[1];
const iterations = 2_000_000;
let admitted = 0;
const gateStart = cpuSeconds();
for (let i = 0; i < iterations; i++) {
  if (gate.admitInbound(0, inbound, 0, inbound.length, 1_000_000)) admitted++;
}
const admitNs = (cpuSeconds() - gateStart) / iterations * 1e9;
const noteStart = cpuSeconds();
for (let i = 0; i < iterations; i++) gate.noteOutbound(outbound, 0, outbound.length, 1_000_000);
const noteNs = (cpuSeconds() - noteStart) / iterations * 1e9;
if (admitted !== iterations) throw new Error("the gate dropped the benchmark's packets");
const none = median(results.none);
const loaded = median(results["64 rules"]);
console.log(
  `policy gate alone: ${admitNs.toFixed(0)} ns per inbound packet (64 rules walked), ${
    noteNs.toFixed(0)
  } ns per outbound packet (flow lookup); the whole in-process path costs ${
    (1e9 / none).toFixed(0)
  } ns per packet without policy, so the gate is ${
    ((admitNs + noteNs) / (1e9 / none) * 100).toFixed(1)
  } % of it`,
);
console.log(
  `in-process data path: none ${Math.round(none)} packets/s, 64 rules ${
    Math.round(loaded)
  } packets/s, ratio ${(loaded / none).toFixed(3)}`,
);
