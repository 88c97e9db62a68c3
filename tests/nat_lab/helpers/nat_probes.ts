/**
 * The NAT lab's probes: `stun_probe.ts` (a test-only STUN client, stun_codec.ts) run inside the
 * lab's namespaces with `deno run --allow-net`. `query` asks servers for the mapped address of
 * one socket; `watch` keeps asking one server and reports every datagram that arrives from
 * anywhere else (what a NAT let through unsolicited); `send` sends one datagram from any
 * namespace and address. Long-running probes are adopted by the lab, which stops them on dispose.
 */

import { fileURLToPath } from "node:url";
import { REPO_ROOT, run } from "../../mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../../mesh/helpers/namespace_process.ts";
import type { NatLab } from "./nat_lab.ts";

const PROBE = fileURLToPath(new URL("./stun_probe.ts", import.meta.url));
/** coturn's two addresses, one per internet range. */
export const STUN_IPS = ["203.0.113.10", "198.51.100.10"] as const;
/** coturn's port. */
export const STUN_PORT = 3478;
/** The two STUN servers as `ip:port`. */
export const STUN_SERVERS: string[] = STUN_IPS.map((ip) => `${ip}:${STUN_PORT}`);

/** The result of one `stun_probe.ts query`. */
export interface QueryResult {
  local: string;
  /** One per server asked, in order; null when it did not answer. */
  mapped: (string | null)[];
}

/** Runs `stun_probe.ts query` in `namespace`: one socket on `bindIp:bindPort` asks each server. */
export async function stunQuery(
  namespace: string,
  bindIp: string,
  bindPort: number,
  servers: string[],
): Promise<QueryResult> {
  const output = await run(
    "ip",
    "netns",
    "exec",
    namespace,
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-net",
    PROBE,
    "query",
    bindIp,
    String(bindPort),
    ...servers,
  );
  return JSON.parse(output.trim().split("\n").at(-1) ?? "") as QueryResult;
}

/** The result of one `stun_probe.ts burst`. */
export interface BurstResult {
  local: string;
  sent: number;
  answers: number;
  /** Distinct mapped addresses in the answers. */
  mapped: string[];
  /** Distinct answer sizes in bytes. */
  bytes: number[];
}

/** Probes run from a lab's hosts (or any of its namespaces). */
export class NatProbes {
  private readonly lab: NatLab;

  /** Probes for `lab`. */
  constructor(lab: NatLab) {
    this.lab = lab;
  }

  /** From host `h` of a site, one socket on `bindPort` asks each server for its mapping. */
  query(siteName: string, h: number, bindPort: number, servers = STUN_SERVERS) {
    const host = this.lab.host(siteName, h);
    return stunQuery(host.namespace, host.ip, bindPort, servers);
  }

  /** Starts `stun_probe.ts watch` on host `h` of a site (stopped by `dispose` at the latest). */
  async watch(siteName: string, h: number, bindPort: number, server: string) {
    const host = this.lab.host(siteName, h);
    const process = this.spawnProbe(host.namespace, ["watch", host.ip, String(bindPort), server]);
    await process.waitForOutput(/^reply 1 \S+$/m, 10_000);
    return process;
  }

  /** Sends one datagram from `namespace` bound to `bindIp:bindPort` to `to`. */
  async send(namespace: string, bindIp: string, bindPort: number, to: string): Promise<void> {
    const process = this.spawnProbe(namespace, ["send", bindIp, String(bindPort), to]);
    await process.waitForOutput(/^sent$/m, 10_000);
    await process.exited;
  }

  /** From host `h` of a site, `count` Binding requests to `server` at once (a rate-limit check). */
  async burst(
    siteName: string,
    h: number,
    bindPort: number,
    server: string,
    count: number,
  ): Promise<BurstResult> {
    const host = this.lab.host(siteName, h);
    const process = this.spawnProbe(host.namespace, [
      "burst",
      host.ip,
      String(bindPort),
      server,
      String(count),
    ]);
    const line = await process.waitForOutput(/^\{.*\}$/m, 15_000);
    await process.exited;
    return JSON.parse(line) as BurstResult;
  }

  /** Sends one datagram from host `h` of a site (ephemeral port) to `to`. */
  sendFromHost(siteName: string, h: number, to: string): Promise<void> {
    const host = this.lab.host(siteName, h);
    return this.send(host.namespace, host.ip, 0, to);
  }

  private spawnProbe(namespace: string, args: string[]): NamespaceProcess {
    const process = new NamespaceProcess(
      namespace,
      [Deno.execPath(), "run", "--no-prompt", "--allow-net", PROBE, ...args],
      { cwd: REPO_ROOT },
    );
    this.lab.adopt(process);
    return process;
  }
}
