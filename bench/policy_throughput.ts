/**
 * What service policies cost on the data path (issue 14), in one run (root): two `meshguard up`
 * daemons in namespaces, iperf3 from node 2 to node 1 (node 1 checks every inbound packet) and
 * back (-R: node 1 records its outbound flows), with no policy and with 64 rules loaded, the
 * worst case: default deny and 63 rules that miss before the one that allows iperf's port, so
 * every packet walks all 64. The two settings alternate on the same daemons (a live reload
 * switches them), `rounds` times each, so machine noise hits both alike.
 * Prints one line per measurement and the ratio of the medians (target ≥ 0.95).
 * Run: deno task bench:policy [seconds per test, default 10] [rounds, default 2]
 */

import { MeshLab, meshSkipReason, run } from "../tests/mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../tests/mesh/helpers/namespace_process.ts";
import { REPO_ROOT } from "../tests/mesh/helpers/mesh_lab.ts";

const seconds = Number(Deno.args[0] ?? 10);
const rounds = Number(Deno.args[1] ?? 2);
const IPERF_PORT = 5201;

/** Default deny; 63 rules that never match iperf's traffic, then the one that does. */
function sixtyFourRules(): string {
  const lines = ["# 64 rules, the last one matches: the worst case per packet"];
  for (let i = 0; i < 63; i++) {
    lines.push(
      i % 3 === 0 ? `deny udp ${10000 + i}` : `allow tcp ${20000 + i * 2}-${20001 + i * 2}`,
    );
  }
  lines.push(`allow tcp ${IPERF_PORT}`);
  return `${lines.join("\n")}\n`;
}

async function iperf(lab: MeshLab, reverse: boolean): Promise<number> {
  const server = new NamespaceProcess(
    lab.node(1).namespace,
    ["iperf3", "-s", "--forceflush", "-1", "-B", lab.node(1).meshIpv4, "-p", String(IPERF_PORT)],
    { cwd: REPO_ROOT },
  );
  try {
    await server.waitForOutput(/Server listening/, 10_000);
    const output = await run(
      "ip",
      "netns",
      "exec",
      lab.node(2).namespace,
      "iperf3",
      "-c",
      lab.node(1).meshIpv4,
      "-p",
      String(IPERF_PORT),
      "-t",
      String(seconds),
      "-J",
      ...(reverse ? ["-R"] : []),
    );
    return JSON.parse(output).end.sum_received.bits_per_second / 1e9;
  } finally {
    await server.stop(2_000);
  }
}

const skip = await meshSkipReason();
if (skip) {
  console.log(skip.replace("mesh suite", "policy bench"));
  Deno.exit(0);
}
const lab = await MeshLab.create({ nodes: 2, trusts: (from, to) => from !== to });
const config = lab.node(1).configDir;
const results: Record<string, number[]> = {};
try {
  await lab.start(1);
  await lab.waitUntilServing(1);
  await lab.start(2, { seeds: [1] });
  await lab.waitForPing(2, lab.node(1).meshIpv4, 60_000);
  for (let round = 0; round < rounds; round++) {
    for (const setting of ["none", "64 rules"]) {
      if (setting === "none") {
        await lab.meshguard(config, "service", "reset");
      } else {
        await Deno.mkdir(`${config}/services`, { recursive: true });
        await Deno.writeTextFile(`${config}/services/global.policy`, sixtyFourRules());
        await lab.meshguard(config, "service", "default", "deny");
      }
      const rules = setting === "none" ? 0 : 64;
      await lab.waitFor(
        async () => (await lab.status(1)).policy?.rules === rules,
        20_000,
        `node1 to load ${setting}`,
      );
      for (const reverse of [false, true]) {
        const gbps = await iperf(lab, reverse);
        const key = `${
          reverse ? "node1 → node2 (outbound flows)" : "node2 → node1 (inbound check)"
        }, ${setting}`;
        (results[key] ??= []).push(gbps);
        console.log(`round ${round + 1}: ${key}: ${gbps.toFixed(3)} Gbps`);
      }
    }
  }
  const drops = (await lab.status(1)).policy?.drops ?? [];
  console.log(`drops on node1 after the runs: ${drops.reduce((sum, d) => sum + d.drops, 0)}`);
} finally {
  await lab.dispose();
}
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
for (const direction of ["node2 → node1 (inbound check)", "node1 → node2 (outbound flows)"]) {
  const none = median(results[`${direction}, none`]);
  const loaded = median(results[`${direction}, 64 rules`]);
  console.log(
    `${direction}: none ${none.toFixed(3)} Gbps, 64 rules ${loaded.toFixed(3)} Gbps, ratio ${
      (loaded / none).toFixed(3)
    }`,
  );
}
