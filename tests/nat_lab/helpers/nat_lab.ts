/**
 * The NAT lab: an "internet" namespace whose bridge carries 203.0.113.0/24 and 198.51.100.0/24,
 * a third-party STUN server on it (Debian's coturn, STUN only, no auth, at 203.0.113.10 and
 * 198.51.100.10 so mapping behaviour can be told apart), and sites behind NAT routers built with
 * nftables (rules in nat_rules.ts). Site i (1-based, in the order given):
 *
 *   public     hosts straight on the internet: 203.0.113.(100 + 10·i + h)
 *   cone/sym.  router WAN 203.0.113.i, LAN bridge 192.168.i.1/24, host h at 192.168.i.(1 + h)
 *   + carrier  (CGNAT) a carrier router at 203.0.113.i masquerading 100.64.0.0/10; the home
 *              router's WAN is 100.64.i.2/10 behind it (carrier side 100.64.i.1)
 *
 *   [host]──lan0─[router]─wan0──┐                      ┌── stun (coturn) 203.0.113.10
 *   [host]─┘                    ├── br0 (inet) ────────┤             198.51.100.10
 *   [host]──lan0─[home]─[carrier]┘ 203.0.113.254       └── public hosts
 *                                  198.51.100.254
 *
 * Adding a site is one more `SiteSpec` in the list given to the constructor. Knobs per site:
 * UDP mapping timeouts, loss, blocked internet addresses (WAN ↔ WAN between two sites forces a
 * relay), conntrack flush, forced port change (a rebinding), a port forward. Namespaces are `mgn-<tag>-…` with a
 * random tag; every interface lives inside them, so deleting them removes every veth and bridge.
 * `dispose()` stops coturn and every probe by PID, deletes the namespaces and the temp dir.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { meshSkipReason, REPO_ROOT, run, tryRun } from "../../mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../../mesh/helpers/namespace_process.ts";
import {
  BLOCK_TABLE,
  blockRules,
  LOSS_TABLE,
  lossRules,
  type Mapping,
  NAT_TABLE,
  natRules,
  portChangeCommands,
  portForwardCommands,
} from "./nat_rules.ts";

const PROBE = fileURLToPath(new URL("./stun_probe.ts", import.meta.url));
/** coturn's two addresses, one per internet range. */
export const STUN_IPS = ["203.0.113.10", "198.51.100.10"] as const;
/** coturn's port. */
export const STUN_PORT = 3478;
/** The two STUN servers as `ip:port`. */
export const STUN_SERVERS: string[] = STUN_IPS.map((ip) => `${ip}:${STUN_PORT}`);
const INTERNET_GATEWAY = "203.0.113.254";
const POLL_INTERVAL_MS = 100;

/** One site of the lab. */
export interface SiteSpec {
  /** Short name (letters and digits), used in namespace names. */
  name: string;
  /** "public": no NAT; otherwise the mapping of the site's (home) router. */
  nat: "public" | Mapping;
  /** Hosts at the site (default 1). */
  hosts?: number;
  /** When set, a carrier-grade NAT with this mapping sits between the home router and the internet. */
  carrier?: Mapping;
}

/** A site as built. */
export interface Site {
  readonly spec: SiteSpec;
  readonly index: number;
  /** Host namespaces, in order. */
  readonly hosts: { namespace: string; ip: string }[];
  /** The home router's namespace (null for a public site). */
  readonly router: string | null;
  /** The carrier's namespace (null without CGNAT). */
  readonly carrier: string | null;
  /** The address this site shows the internet (a NAT's WAN; a public site's first host). */
  readonly publicIp: string;
  /** The namespace owning `publicIp` on the internet bridge (the outermost router). */
  readonly edge: string | null;
}

/** The result of one `stun_probe.ts query`. */
export interface QueryResult {
  local: string;
  /** One per server asked, in order; null when it did not answer. */
  mapped: (string | null)[];
}

/** Why the nat suite cannot run here, or null when it can. */
export async function natLabSkipReason(): Promise<string | null> {
  const mesh = await meshSkipReason();
  if (mesh) return mesh.replace("mesh suite", "nat suite");
  const tools: [string, string[], string][] = [
    ["nft", ["--version"], "nftables"],
    ["conntrack", ["--version"], "conntrack"],
    ["turnserver", ["--version"], "coturn"],
  ];
  for (const [tool, args, aptPackage] of tools) {
    try {
      await new Deno.Command(tool, { args, stdout: "null", stderr: "null" }).output();
    } catch {
      return `nat suite skipped: '${tool}' is missing (apt install ${aptPackage})`;
    }
  }
  return null;
}

/**
 * Polls `probe` every 100 ms until it returns something other than false/null/undefined, and
 * returns that; throws after `timeoutMs` naming `what` and the last value seen.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | false | null | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "nothing yet";
  for (;;) {
    const value = await probe();
    if (value !== false && value !== null && value !== undefined) return value;
    last = value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** The lab: internet, STUN server, sites. */
export class NatLab {
  /** The random tag in every namespace name. */
  readonly tag: string = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  readonly sites = new Map<string, Site>();
  private readonly specs: SiteSpec[];
  private readonly namespaces: string[] = [];
  private readonly processes: NamespaceProcess[] = [];
  private coturn: NamespaceProcess | null = null;
  private root = "";
  private disposing: Promise<void> | null = null;
  private disposed = false;

  /** An empty lab for `specs`; `build()` makes it. */
  constructor(specs: SiteSpec[]) {
    if (specs.length > 9) throw new Error("a NAT lab has at most 9 sites");
    this.specs = specs;
  }

  /** The internet namespace (bridge br0, the gateway between the two ranges). */
  get internet(): string {
    return `mgn-${this.tag}-inet`;
  }

  /** The STUN server's namespace. */
  get stun(): string {
    return `mgn-${this.tag}-stun`;
  }

  /** The temp dir (coturn's log and pid file). */
  get directory(): string {
    return this.root;
  }

  /** The PID of coturn (null before `build`). */
  get coturnPid(): number | null {
    return this.coturn?.pid ?? null;
  }

  /** Builds everything and waits until coturn answers; on failure disposes and rethrows. */
  async build(): Promise<void> {
    try {
      this.root = await Deno.makeTempDir({ prefix: "meshguard-natlab-" });
      await this.buildInternet();
      for (const [i, spec] of this.specs.entries()) await this.buildSite(spec, i + 1);
      await this.startCoturn();
    } catch (error) {
      await this.dispose();
      throw error;
    }
  }

  /** Site `name`; throws when there is none. */
  site(name: string): Site {
    const site = this.sites.get(name);
    if (!site) throw new Error(`no site ${name} in this lab`);
    return site;
  }

  private async addNamespace(name: string): Promise<void> {
    if (this.disposed) throw new Error("the NAT lab was disposed");
    this.namespaces.push(name);
    await run("ip", "netns", "add", name);
    await run("ip", "-n", name, "link", "set", "lo", "up");
  }

  private async sysctl(namespace: string, ...settings: string[]): Promise<void> {
    await run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", ...settings);
  }

  /** A veth from `a` (named `aName`) to `b` (named `bName`), both ends up. */
  private async link(a: string, aName: string, b: string, bName: string): Promise<void> {
    await run(
      "ip",
      "link",
      "add",
      aName,
      "netns",
      a,
      "type",
      "veth",
      "peer",
      "name",
      bName,
      "netns",
      b,
    );
    await run("ip", "-n", a, "link", "set", aName, "up");
    await run("ip", "-n", b, "link", "set", bName, "up");
  }

  private async address(namespace: string, cidr: string, device: string): Promise<void> {
    await run("ip", "-n", namespace, "addr", "add", cidr, "dev", device);
  }

  private async defaultRoute(namespace: string, via: string): Promise<void> {
    await run("ip", "-n", namespace, "route", "add", "default", "via", via);
  }

  /** Plugs `namespace` into the internet bridge as `device` (port `port` on the bridge). */
  private async plugIntoInternet(namespace: string, device: string, port: string): Promise<void> {
    await this.link(namespace, device, this.internet, port);
    await run("ip", "-n", this.internet, "link", "set", port, "master", "br0");
  }

  private async buildInternet(): Promise<void> {
    await this.addNamespace(this.internet);
    await run("ip", "-n", this.internet, "link", "add", "br0", "type", "bridge");
    await run("ip", "-n", this.internet, "link", "set", "br0", "up");
    await this.address(this.internet, `${INTERNET_GATEWAY}/24`, "br0");
    await this.address(this.internet, "198.51.100.254/24", "br0");
    await this.sysctl(this.internet, "net.ipv4.ip_forward=1");
    await this.addNamespace(this.stun);
    await this.plugIntoInternet(this.stun, "eth0", "stun");
    for (const ip of STUN_IPS) await this.address(this.stun, `${ip}/24`, "eth0");
  }

  private async buildSite(spec: SiteSpec, i: number): Promise<void> {
    if (!/^[a-z0-9]{1,8}$/.test(spec.name)) throw new Error(`bad site name ${spec.name}`);
    const hostCount = spec.hosts ?? 1;
    const base = `mgn-${this.tag}-${spec.name}`;
    const hosts = Array.from({ length: hostCount }, (_, h) => ({
      namespace: `${base}-h${h + 1}`,
      ip: spec.nat === "public" ? `203.0.113.${100 + 10 * i + h + 1}` : `192.168.${i}.${h + 2}`,
    }));
    for (const host of hosts) await this.addNamespace(host.namespace);
    if (spec.nat === "public") {
      for (const [h, host] of hosts.entries()) {
        await this.plugIntoInternet(host.namespace, "eth0", `s${i}h${h + 1}`);
        await this.address(host.namespace, `${host.ip}/24`, "eth0");
        await this.defaultRoute(host.namespace, INTERNET_GATEWAY);
      }
      this.sites.set(spec.name, {
        spec,
        index: i,
        hosts,
        router: null,
        carrier: null,
        publicIp: hosts[0].ip,
        edge: null,
      });
      return;
    }
    const router = `${base}-r`;
    const carrier = spec.carrier ? `${base}-c` : null;
    await this.addNamespace(router);
    await this.sysctl(router, "net.ipv4.ip_forward=1");
    await run("ip", "-n", router, "link", "add", "lan0", "type", "bridge");
    await run("ip", "-n", router, "link", "set", "lan0", "up");
    await this.address(router, `192.168.${i}.1/24`, "lan0");
    for (const [h, host] of hosts.entries()) {
      await this.link(host.namespace, "eth0", router, `h${h + 1}`);
      await run("ip", "-n", router, "link", "set", `h${h + 1}`, "master", "lan0");
      await this.address(host.namespace, `${host.ip}/24`, "eth0");
      await this.defaultRoute(host.namespace, `192.168.${i}.1`);
    }
    const publicIp = `203.0.113.${i}`;
    if (carrier && spec.carrier) {
      await this.addNamespace(carrier);
      await this.sysctl(carrier, "net.ipv4.ip_forward=1");
      await this.plugIntoInternet(carrier, "wan0", `s${i}`);
      await this.address(carrier, `${publicIp}/24`, "wan0");
      await this.defaultRoute(carrier, INTERNET_GATEWAY);
      await this.link(router, "wan0", carrier, "cgn0");
      await this.address(carrier, `100.64.${i}.1/10`, "cgn0");
      await this.address(router, `100.64.${i}.2/10`, "wan0");
      await this.defaultRoute(router, `100.64.${i}.1`);
      await this.nft(carrier, natRules(spec.carrier, "cgn0", "wan0"));
    } else {
      await this.plugIntoInternet(router, "wan0", `s${i}`);
      await this.address(router, `${publicIp}/24`, "wan0");
      await this.defaultRoute(router, INTERNET_GATEWAY);
    }
    await this.nft(router, natRules(spec.nat, "lan0", "wan0"));
    this.sites.set(spec.name, {
      spec,
      index: i,
      hosts,
      router,
      carrier,
      publicIp,
      edge: carrier ?? router,
    });
  }

  /** Loads nft text into `namespace` (through a file: `nft -f -` would need a stdin pipe). */
  private async nft(namespace: string, rules: string): Promise<void> {
    const file = join(this.root, `rules-${crypto.randomUUID()}.nft`);
    await Deno.writeTextFile(file, rules, { mode: 0o600 });
    try {
      await run("ip", "netns", "exec", namespace, "nft", "-f", file);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }

  private async startCoturn(): Promise<void> {
    const args = [
      "turnserver",
      "-n",
      "--stun-only",
      "--no-auth",
      ...STUN_IPS.flatMap((ip) => ["-L", ip]),
      "-p",
      String(STUN_PORT),
      "--no-tcp",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--log-file",
      "stdout",
      "--simple-log",
      "--pidfile",
      join(this.root, "turnserver.pid"),
    ];
    if (this.disposed) throw new Error("the NAT lab was disposed");
    this.coturn = new NamespaceProcess(this.stun, args, {
      cwd: this.root,
      logPath: join(this.root, "coturn.log"),
    });
    // Ready when it answers on both addresses (asked from the internet namespace itself).
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.coturn.status) {
        throw new Error(`coturn exited (${this.coturn.status.code}):\n${this.coturn.output}`);
      }
      const answer = await this.probeQuery(this.internet, INTERNET_GATEWAY, 0, STUN_SERVERS);
      if (answer.mapped.every((mapped) => mapped !== null)) return;
      if (Date.now() > deadline) {
        throw new Error(`coturn did not answer within 15 s:\n${this.coturn.output}`);
      }
    }
  }

  /** Runs `stun_probe.ts query` in `namespace`. */
  private async probeQuery(
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

  private host(siteName: string, h: number): { namespace: string; ip: string } {
    const host = this.site(siteName).hosts[h - 1];
    if (!host) throw new Error(`site ${siteName} has no host ${h}`);
    return host;
  }

  /** From host `h` of a site, one socket on `bindPort` asks each server for its mapping. */
  query(siteName: string, h: number, bindPort: number, servers = STUN_SERVERS) {
    const host = this.host(siteName, h);
    return this.probeQuery(host.namespace, host.ip, bindPort, servers);
  }

  /** Starts `stun_probe.ts watch` on host `h` of a site (stopped by `dispose` at the latest). */
  async watch(siteName: string, h: number, bindPort: number, server: string) {
    const host = this.host(siteName, h);
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

  /** Sends one datagram from host `h` of a site (ephemeral port) to `to`. */
  sendFromHost(siteName: string, h: number, to: string): Promise<void> {
    const host = this.host(siteName, h);
    return this.send(host.namespace, host.ip, 0, to);
  }

  private spawnProbe(namespace: string, args: string[]): NamespaceProcess {
    if (this.disposed) throw new Error("the NAT lab was disposed");
    const process = new NamespaceProcess(
      namespace,
      [Deno.execPath(), "run", "--no-prompt", "--allow-net", PROBE, ...args],
      { cwd: REPO_ROOT },
    );
    this.processes.push(process);
    return process;
  }

  /** The routers of a site, outermost first (none for a public site). */
  private routers(siteName: string): string[] {
    const site = this.site(siteName);
    return [site.carrier, site.router].filter((name): name is string => name !== null);
  }

  /** Packets a site's routers dropped for want of a mapping (the `unsolicited` counters). */
  async unsolicitedDrops(siteName: string): Promise<number> {
    let total = 0;
    for (const router of this.routers(siteName)) {
      const listing = await run(
        "ip",
        "netns",
        "exec",
        router,
        "nft",
        "list",
        "counter",
        "inet",
        NAT_TABLE,
        "unsolicited",
      );
      const packets = listing.match(/packets (\d+)/);
      if (!packets) throw new Error(`no unsolicited counter in ${router}:\n${listing}`);
      total += Number(packets[1]);
    }
    return total;
  }

  /** Sets the UDP mapping timeouts (seconds: unreplied, and once replied both ways) of a site. */
  async setUdpTimeouts(siteName: string, unrepliedS: number, streamS: number): Promise<void> {
    for (const router of this.routers(siteName)) {
      await this.sysctl(
        router,
        `net.netfilter.nf_conntrack_udp_timeout=${unrepliedS}`,
        `net.netfilter.nf_conntrack_udp_timeout_stream=${streamS}`,
      );
    }
  }

  /** The UDP mappings (`conntrack -L -p udp`) of a site's home router, one line each. */
  async mappings(siteName: string): Promise<string[]> {
    const router = this.site(siteName).router;
    if (!router) return [];
    const result = await run("ip", "netns", "exec", router, "conntrack", "-L", "-p", "udp");
    return result.split("\n").filter((line) => line.startsWith("udp"));
  }

  /** Forgets every mapping of a site's routers (`conntrack -F`). */
  async flushMappings(siteName: string): Promise<void> {
    for (const router of this.routers(siteName)) {
      await run("ip", "netns", "exec", router, "conntrack", "-F");
    }
  }

  /**
   * A rebinding: the site's outermost router maps new UDP flows into 40000–40999 from now on and
   * forgets every mapping, so each host's next datagram leaves from another external port.
   */
  async forcePortChange(siteName: string): Promise<void> {
    const site = this.site(siteName);
    if (!site.edge) throw new Error(`site ${siteName} has no NAT to rebind`);
    await this.nft(site.edge, portChangeCommands("wan0"));
    await this.flushMappings(siteName);
  }

  /** Forwards UDP `port` of a site's (single-layer) NAT to host `h`; `resetNat` removes it. */
  async forwardPort(siteName: string, h: number, port: number): Promise<void> {
    const site = this.site(siteName);
    if (!site.router || site.carrier) {
      throw new Error(`site ${siteName} has no single NAT to forward a port through`);
    }
    await this.nft(site.router, portForwardCommands("wan0", port, this.host(siteName, h).ip));
  }

  /** Puts a site's NAT rules back as built (after `forcePortChange`) and forgets its mappings. */
  async resetNat(siteName: string): Promise<void> {
    const site = this.site(siteName);
    const layers: [string | null, Mapping | undefined, string][] = [
      [site.carrier, site.spec.carrier, "cgn0"],
      [site.router, site.spec.nat === "public" ? undefined : site.spec.nat, "lan0"],
    ];
    for (const [router, mapping, lan] of layers) {
      if (!router || !mapping) continue;
      await run("ip", "netns", "exec", router, "nft", "delete", "table", "inet", NAT_TABLE);
      await this.nft(router, natRules(mapping, lan, "wan0"));
    }
    await this.flushMappings(siteName);
  }

  /** Packets counted by every `counter` of `table` in a site's outermost router (0: no table). */
  async tableDrops(siteName: string, table: string): Promise<number> {
    const edge = this.site(siteName).edge;
    if (!edge) return 0;
    const result = await tryRun("ip", [
      "netns",
      "exec",
      edge,
      "nft",
      "list",
      "table",
      "inet",
      table,
    ]);
    if (result.code !== 0) return 0;
    return [...result.stdout.matchAll(/counter packets (\d+)/g)]
      .reduce((sum, match) => sum + Number(match[1]), 0);
  }

  /** Drops `percent` % of what a site's home router forwards (0 removes the knob). */
  async setLoss(siteName: string, percent: number): Promise<void> {
    const router = this.site(siteName).router;
    if (!router) throw new Error(`site ${siteName} has no router for loss`);
    await tryRun("ip", ["netns", "exec", router, "nft", "delete", "table", "inet", LOSS_TABLE]);
    if (percent > 0) await this.nft(router, lossRules(percent));
  }

  /** Drops everything a site's outermost router forwards to or from `addresses` ([]: none). */
  async block(siteName: string, addresses: string[]): Promise<void> {
    const edge = this.site(siteName).edge;
    if (!edge) throw new Error(`site ${siteName} has no router to block with`);
    await tryRun("ip", ["netns", "exec", edge, "nft", "delete", "table", "inet", BLOCK_TABLE]);
    if (addresses.length > 0) await this.nft(edge, blockRules(addresses));
  }

  /** Drops traffic between two sites' public addresses, both ways (forces a relay). */
  async blockWanToWan(a: string, b: string): Promise<void> {
    await this.block(a, [this.site(b).publicIp]);
    await this.block(b, [this.site(a).publicIp]);
  }

  /** Removes what `blockWanToWan` added. */
  async unblockWanToWan(a: string, b: string): Promise<void> {
    await this.block(a, []);
    await this.block(b, []);
  }

  /** Stops coturn and every probe (by PID), deletes every namespace and the temp dir. */
  dispose(): Promise<void> {
    this.disposing ??= this.removeEverything();
    return this.disposing;
  }

  private async removeEverything(): Promise<void> {
    this.disposed = true;
    await Promise.all([
      this.coturn?.stop(5_000),
      ...this.processes.map((process) => process.stop(2_000)),
    ]);
    for (const name of [...this.namespaces].reverse()) {
      await tryRun("ip", ["netns", "del", name]).catch(() => {});
    }
    if (this.root) await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  /** What this lab made that still exists: namespaces, a running coturn, the temp dir. */
  async leftovers(): Promise<string[]> {
    const found: string[] = [];
    const listed = await run("ip", "netns", "list");
    for (const line of listed.split("\n")) {
      const name = line.split(" ")[0];
      if (name.startsWith(`mgn-${this.tag}-`)) found.push(`namespace ${name}`);
    }
    const pid = this.coturnPid;
    if (pid !== null && (this.coturn?.status === null || await exists(`/proc/${pid}`))) {
      found.push(`coturn pid ${pid}`);
    }
    for (const process of this.processes) {
      if (process.status === null) found.push(`probe pid ${process.pid}`);
    }
    if (this.root && await exists(this.root)) found.push(`directory ${this.root}`);
    return found;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
