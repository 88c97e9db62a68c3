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
 * Adding a site is one more `SiteSpec` in the list given to the constructor; the knobs that
 * change a built site are in nat_knobs.ts, the STUN probes run from its hosts in nat_probes.ts.
 * Namespaces are `mgn-<tag>-…` with a random tag; every interface lives inside them, so deleting
 * them removes every veth and bridge.
 * `dispose()` stops coturn and every probe by PID, deletes the namespaces and the temp dir.
 */

import { join } from "node:path";
import { meshSkipReason, run, tryRun } from "../../mesh/helpers/mesh_lab.ts";
import { NamespaceProcess } from "../../mesh/helpers/namespace_process.ts";
import { type Mapping, natRules } from "./nat_rules.ts";
import { STUN_IPS, STUN_PORT, STUN_SERVERS, stunQuery } from "./nat_probes.ts";

export { STUN_IPS, STUN_PORT, STUN_SERVERS };

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
      await this.loadRules(carrier, natRules(spec.carrier, "cgn0", "wan0"));
    } else {
      await this.plugIntoInternet(router, "wan0", `s${i}`);
      await this.address(router, `${publicIp}/24`, "wan0");
      await this.defaultRoute(router, INTERNET_GATEWAY);
    }
    await this.loadRules(router, natRules(spec.nat, "lan0", "wan0"));
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
  async loadRules(namespace: string, rules: string): Promise<void> {
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
      const answer = await stunQuery(this.internet, INTERNET_GATEWAY, 0, STUN_SERVERS);
      if (answer.mapped.every((mapped) => mapped !== null)) return;
      if (Date.now() > deadline) {
        throw new Error(`coturn did not answer within 15 s:\n${this.coturn.output}`);
      }
    }
  }

  /** Host `h` (1-based) of a site. */
  host(siteName: string, h: number): { namespace: string; ip: string } {
    const host = this.site(siteName).hosts[h - 1];
    if (!host) throw new Error(`site ${siteName} has no host ${h}`);
    return host;
  }

  /** Stops `process` (by PID) when the lab is disposed, if it still runs then. */
  adopt(process: NamespaceProcess): void {
    if (this.disposed) {
      process.kill().catch(() => {});
      throw new Error("the NAT lab was disposed");
    }
    this.processes.push(process);
  }

  /** The routers of a site, outermost first (none for a public site). */
  routers(siteName: string): string[] {
    const site = this.site(siteName);
    return [site.carrier, site.router].filter((name): name is string => name !== null);
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
