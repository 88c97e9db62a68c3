/**
 * Probes for netns tests, from inside a node's namespace: `dig` against a mesh DNS server, and
 * the TCP/UDP services and probes of `policy_probe.ts` for service policies.
 */

import { fileURLToPath } from "node:url";
import { assertEquals } from "../../assert.ts";
import { type CommandResult, type MeshLab, REPO_ROOT, tryRun } from "./mesh_lab.ts";
import { NamespaceProcess } from "./namespace_process.ts";

const PROBE = fileURLToPath(new URL("./policy_probe.ts", import.meta.url));

/** Why dig-based tests skip, or null when `dig` (bind9-dnsutils) is installed. */
export async function digSkipReason(): Promise<string | null> {
  return (await tryRun("dig", ["-v"]).catch(() => null))?.code === 0
    ? null
    : "mesh DNS test skipped: no dig (apt-get install bind9-dnsutils)";
}

/** `dig` from node `from`'s namespace; `+tries=1 +time=2` bounds each call. */
export async function dig(
  lab: MeshLab,
  from: number,
  ...args: string[]
): Promise<CommandResult & { args: string }> {
  const result = await tryRun("ip", [
    "netns",
    "exec",
    lab.node(from).namespace,
    "dig",
    "+tries=1",
    "+time=2",
    "+noall",
    "+comments",
    "+answer",
    ...args,
  ]);
  return { ...result, args: args.join(" ") };
}

/** The rcode (`status: X`) and the answer records' data of a dig output. */
export function parseDig(
  result: CommandResult & { args: string },
): { status: string; answers: string[] } {
  assertEquals(result.code, 0, `dig ${result.args} failed:\n${result.stdout}${result.stderr}`);
  const status = result.stdout.match(/status: ([A-Z]+)/)?.[1] ?? "none";
  const answers = result.stdout.split("\n")
    .filter((line) => line !== "" && !line.startsWith(";"))
    .map((line) => line.split(/\s+/).at(-1)!);
  return { status, answers };
}

/** Starts `policy_probe.ts serve` on node `k`'s mesh IPv4 (or IPv6); the caller stops it. */
export async function serveProbes(
  lab: MeshLab,
  k: number,
  tcp: number[],
  udp: number[],
  v6 = false,
): Promise<NamespaceProcess> {
  const server = new NamespaceProcess(lab.node(k).namespace, [
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-net",
    PROBE,
    "serve",
    v6 ? lab.node(k).meshIpv6 : lab.node(k).meshIpv4,
    tcp.join(","),
    udp.join(","),
  ], { cwd: REPO_ROOT });
  try {
    await server.waitForOutput(/listening/, 15_000);
  } catch (error) {
    await server.stop(2_000);
    throw error;
  }
  return server;
}

/** One probe from node `from` to node `to`'s mesh IPv4 (or IPv6): "ok …", "timeout" or "error …". */
export async function probe(
  lab: MeshLab,
  from: number,
  to: number,
  kind: "tcp" | "udp",
  port: number,
  ms: number,
  v6 = false,
): Promise<string> {
  const result = await tryRun("ip", [
    "netns",
    "exec",
    lab.node(from).namespace,
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-net",
    PROBE,
    kind,
    v6 ? lab.node(to).meshIpv6 : lab.node(to).meshIpv4,
    String(port),
    String(ms),
  ], ms + 20_000);
  return result.stdout.trim() || `exit ${result.code}: ${result.stderr.trim()}`;
}
