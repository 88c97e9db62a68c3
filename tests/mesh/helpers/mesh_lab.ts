/**
 * A mesh lab: N network namespaces (192.0.2.1..N/24) on one Linux bridge that lives in a namespace
 * of its own, each with a private config dir (identity made by `meshguard keygen`, trust set with
 * `meshguard trust`), running `meshguard up` as a real daemon. Names carry a random tag so
 * parallel runs cannot collide (namespaces `mgm-<tag>-n1`, interfaces `mg<tag>1`: the UAPI socket
 * `/var/run/wireguard/<if>.sock` is shared by every namespace on the machine). Daemons log to a
 * file each; `logTails()` shows them after a failure. `dispose()` removes every process, namespace,
 * file and socket it made, also after a failure.
 */

import { encodeIdentityKeyFile, identityFromSeed } from "../../../lib/identity/identity.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  type DaemonStatus,
  parseStatus,
  parseWireGuardDump,
  type WireGuardPeer,
} from "./daemon_status.ts";
import { NamespaceProcess } from "./namespace_process.ts";
import { RUNTIME_FLAGS } from "../../../packaging/build.ts";

/** The repository root (daemons and CLI run from here). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = join(REPO_ROOT, "main.ts");
const TRAFFIC = fileURLToPath(new URL("../../interop/helpers/traffic.ts", import.meta.url));
const FLOOD = fileURLToPath(new URL("./flood.ts", import.meta.url));

/** The UDP port every daemon listens on (meshguard's default). */
export const MESH_PORT = 51821;
const COMMAND_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 250;
const UAPI_DIRECTORY = "/var/run/wireguard";

/** Why the mesh suite cannot run here, or null when it can (root, ip, wg, ping). */
export async function meshSkipReason(): Promise<string | null> {
  try {
    if (Deno.uid() !== 0) return "mesh suite skipped: needs root (network namespaces)";
  } catch {
    return "mesh suite skipped: cannot tell the uid (needs --allow-sys=uid)";
  }
  const tools: [string, string[], string][] = [
    ["ip", ["-V"], "iproute2"],
    ["wg", ["--version"], "wireguard-tools"],
    ["ping", ["-V"], "iputils-ping"],
  ];
  for (const [tool, args, aptPackage] of tools) {
    try {
      await new Deno.Command(tool, { args, stdout: "null", stderr: "null" }).output();
    } catch {
      return `mesh suite skipped: '${tool}' is missing (apt install ${aptPackage})`;
    }
  }
  return null;
}

/** The result of a command that is allowed to fail. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded); never throws for a non-zero exit. */
export async function tryRun(
  command: string,
  args: string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<CommandResult> {
  const output = await new Deno.Command(command, {
    args,
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs a command to completion (bounded); throws with its output when it fails. */
export async function run(command: string, ...args: string[]): Promise<string> {
  const result = await tryRun(command, args);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.code}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** Resolves after `ms`; only for poll intervals, never as synchronisation. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One node of the lab. Indices are 1-based: node k is 192.0.2.k. */
export interface MeshNode {
  readonly index: number;
  /** The name the other nodes trust it under (`node<k>`). */
  readonly name: string;
  readonly namespace: string;
  /** Its underlay IPv4 address on the bridge. */
  readonly underlay: string;
  readonly interfaceName: string;
  readonly configDir: string;
  readonly controlPath: string;
  readonly logPath: string;
  /** Ed25519 identity key (base64), from `keygen`. */
  readonly publicKey: string;
  /** X25519 WireGuard key (base64), from `config show --json`. */
  readonly wireguardPublicKey: string;
  readonly meshIpv4: string;
  readonly meshIpv6: string;
  /** The running daemon, if any. */
  daemon: NamespaceProcess | null;
}

/** How to build a lab. */
export interface MeshLabOptions {
  /** Number of nodes, 1..99 (node k is 192.0.2.k; interface names stay within IFNAMSIZ). */
  nodes: number;
  /** Whether node `from` trusts node `to` (1-based); decides the `meshguard trust` calls. */
  trusts(from: number, to: number): boolean;
  /** Called with a progress line for every setup phase (the demo prints them). */
  progress?: (line: string) => void;
  /** The Ed25519 seed node k uses instead of a fresh `keygen` one (e.g. colliding keys). */
  identity?: (k: number) => Uint8Array | undefined;
  /**
   * Where node k runs when another lab owns the network (the NAT lab): an existing namespace and
   * its address there. When set, this lab makes no bridge and no namespace, and does not check
   * that the nodes reach each other (behind a NAT they do not, before the mesh forms).
   */
  placement?: (k: number) => { namespace: string; underlay: string };
}

/** Options for starting one daemon. */
export interface StartOptions {
  /** Nodes whose underlay address is passed as `--seed` (none: no seed). */
  seeds?: number[];
  /** Extra arguments for `meshguard up`. */
  extraArgs?: string[];
}

/** Called with every status a lab reads (lets a test assert something "never" happens). */
export type StatusObserver = (node: MeshNode, status: DaemonStatus) => void;

/** The lab: namespaces, bridge, config dirs, daemons. */
export class MeshLab {
  /** The random tag in every name this lab creates. */
  readonly tag: string = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  readonly nodes: MeshNode[] = [];
  /** Observers run on every parsed status. */
  readonly statusObservers: StatusObserver[] = [];
  private readonly namespaces: string[] = [];
  private readonly helpers: NamespaceProcess[] = [];
  private root = "";
  private nextPort = 7000;
  private disposed = false;
  private disposing: Promise<string[]> | null = null;
  private building: Promise<void> | null = null;
  private readonly progress: (line: string) => void;
  private readonly options: MeshLabOptions;

  /**
   * An empty lab; `build()` fills it. Separate from `create` so a caller can arrange for
   * `dispose()` (e.g. on Ctrl-C) before anything exists.
   */
  constructor(options: MeshLabOptions) {
    if (options.nodes < 1 || options.nodes > 99) throw new Error("a mesh lab has 1..99 nodes");
    this.options = options;
    this.progress = options.progress ?? (() => {});
  }

  /** Builds the namespaces, bridge, identities and trust; starts no daemon. */
  static async create(options: MeshLabOptions): Promise<MeshLab> {
    const lab = new MeshLab(options);
    await lab.build();
    return lab;
  }

  /** Builds the lab; on failure removes whatever it had made and rethrows. */
  async build(): Promise<void> {
    this.building = this.buildParts(this.options);
    try {
      await this.building;
    } catch (error) {
      await this.dispose();
      throw error;
    }
  }

  /** Throws once the lab is disposed, so a build interrupted by Ctrl-C stops making things. */
  private checkLive(): void {
    if (this.disposed) throw new Error("the mesh lab was disposed");
  }

  /** The namespace that holds the bridge. */
  get bridgeNamespace(): string {
    return `mgm-${this.tag}-br`;
  }

  /** The temporary directory holding config dirs, logs and control sockets. */
  get directory(): string {
    return this.root;
  }

  private async addNamespace(name: string): Promise<void> {
    this.checkLive();
    // Listed before it exists: an `ip netns add` killed half-way (Ctrl-C) may still leave it.
    this.namespaces.push(name);
    await run("ip", "netns", "add", name);
    if (this.disposed) {
      // Disposed while `ip netns add` ran: dispose may have missed it, so remove it here.
      await tryRun("ip", ["netns", "del", name]);
      this.checkLive();
    }
    await run("ip", "-n", name, "link", "set", "lo", "up");
  }

  private async buildParts(options: MeshLabOptions): Promise<void> {
    const root = await Deno.makeTempDir({ prefix: "meshguard-mesh-" });
    if (this.disposed) {
      await Deno.remove(root, { recursive: true });
      this.checkLive();
    }
    this.root = root;
    this.progress(`files: config dirs, daemon logs and control sockets in ${root}`);
    await Deno.chmod(this.root, 0o700);
    if (!options.placement) {
      this.progress(`network: bridge namespace ${this.bridgeNamespace}`);
      await this.addNamespace(this.bridgeNamespace);
      await run("ip", "-n", this.bridgeNamespace, "link", "add", "br0", "type", "bridge");
      await run("ip", "-n", this.bridgeNamespace, "link", "set", "br0", "up");
    }
    for (let k = 1; k <= options.nodes; k++) {
      this.checkLive();
      const placed = options.placement?.(k);
      const namespace = placed?.namespace ?? `mgm-${this.tag}-n${k}`;
      const underlay = placed?.underlay ?? `192.0.2.${k}`;
      if (!placed) await this.buildNamespace(k, namespace, underlay);
      await this.buildIdentity(k, namespace, underlay);
    }
    await this.buildTrust(options);
    if (options.placement) return;
    // The underlay must work before any daemon starts, or a test would blame the daemon.
    for (const node of this.nodes.slice(1)) {
      await run(
        "ip",
        "netns",
        "exec",
        this.nodes[0].namespace,
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        node.underlay,
      );
    }
  }

  /** Node k's own namespace on the bridge. */
  private async buildNamespace(k: number, namespace: string, underlay: string): Promise<void> {
    await this.addNamespace(namespace);
    const inside = `v${this.tag}n${k}`;
    const bridgeSide = `v${this.tag}b${k}`;
    await run(
      "ip",
      "link",
      "add",
      inside,
      "netns",
      namespace,
      "type",
      "veth",
      "peer",
      "name",
      bridgeSide,
      "netns",
      this.bridgeNamespace,
    );
    await run("ip", "-n", this.bridgeNamespace, "link", "set", bridgeSide, "master", "br0");
    await run("ip", "-n", this.bridgeNamespace, "link", "set", bridgeSide, "up");
    await run("ip", "-n", namespace, "addr", "add", `${underlay}/24`, "dev", inside);
    await run("ip", "-n", namespace, "link", "set", inside, "up");
    this.progress(`network: ${namespace} at ${underlay}`);
  }

  /** Node k's config dir, identity and keys. */
  private async buildIdentity(k: number, namespace: string, underlay: string): Promise<void> {
    const options = this.options;
    const configDir = join(this.root, `node${k}`);
    await Deno.mkdir(configDir, { mode: 0o700 });
    await Deno.chmod(configDir, 0o700);
    this.checkLive();
    const seed = options.identity?.(k);
    if (seed !== undefined) {
      await Deno.writeTextFile(
        join(configDir, "identity.key"),
        encodeIdentityKeyFile(await identityFromSeed(seed.slice())),
        { mode: 0o600 },
      );
    }
    const publicKey = (await this.meshguard(configDir, seed ? "export" : "keygen")).trim();
    const report = JSON.parse(await this.meshguard(configDir, "config", "show", "--json"));
    this.nodes.push({
      index: k,
      name: `node${k}`,
      namespace,
      underlay,
      interfaceName: `mg${this.tag}${k}`,
      configDir,
      controlPath: join(this.root, `node${k}.sock`),
      logPath: join(this.root, `node${k}.log`),
      publicKey,
      wireguardPublicKey: report.identity.wireguard_public_key,
      meshIpv4: report.identity.mesh_ipv4,
      meshIpv6: report.identity.mesh_ipv6,
      daemon: null,
    });
    this.progress(`identity: node${k} ${publicKey} (mesh ${report.identity.mesh_ipv4})`);
  }

  /** The `meshguard trust` calls `options.trusts` asks for. */
  private async buildTrust(options: MeshLabOptions): Promise<void> {
    for (const from of this.nodes) {
      const trusted: string[] = [];
      for (const to of this.nodes) {
        if (from === to || !options.trusts(from.index, to.index)) continue;
        this.checkLive();
        await this.meshguard(from.configDir, "trust", to.publicKey, "--name", to.name);
        trusted.push(to.name);
      }
      this.progress(`trust: ${from.name} trusts ${trusted.join(", ") || "nobody"}`);
    }
  }

  /** Node `k` (1-based). */
  node(k: number): MeshNode {
    const node = this.nodes[k - 1];
    if (!node) throw new Error(`no node ${k} in this lab`);
    return node;
  }

  /** Runs the meshguard CLI with `--config DIR`; throws with stderr on failure. */
  async meshguard(configDir: string, ...args: string[]): Promise<string> {
    const result = await this.cli(...args, "--config", configDir);
    if (result.code !== 0) {
      throw new Error(`meshguard ${args.join(" ")} failed (${result.code}):\n${result.stderr}`);
    }
    return result.stdout;
  }

  /** Runs the meshguard CLI as given (in the root namespace: the sockets are files). */
  cli(...args: string[]): Promise<CommandResult> {
    return tryRun(Deno.execPath(), ["run", "--allow-all", "--no-prompt", MAIN, ...args]);
  }

  /** Starts `meshguard up` for node `k` inside its namespace; its output goes to its log. */
  async start(k: number, options: StartOptions = {}): Promise<NamespaceProcess> {
    const node = this.node(k);
    if (node.daemon && node.daemon.status === null) {
      throw new Error(`${node.name}'s daemon (pid ${node.daemon.pid}) is still running`);
    }
    const seeds = (options.seeds ?? []).flatMap((seed) => [
      "--seed",
      `${this.node(seed).underlay}:${MESH_PORT}`,
    ]);
    const args = [
      Deno.execPath(),
      "run",
      ...RUNTIME_FLAGS,
      "--allow-all",
      "--no-prompt",
      MAIN,
      "up",
      "--config",
      node.configDir,
      "--port",
      String(MESH_PORT),
      "--interface",
      node.interfaceName,
      "--control",
      node.controlPath,
      "--log-level",
      "debug",
      ...seeds,
      ...(options.extraArgs ?? []),
    ];
    await Deno.writeTextFile(
      node.logPath,
      `===== ${new Date().toISOString()} ${node.name}: ip netns exec ${node.namespace} ${
        args.join(" ")
      }\n`,
      { append: true, create: true, mode: 0o600 },
    );
    this.checkLive();
    node.daemon = new NamespaceProcess(node.namespace, args, {
      cwd: REPO_ROOT,
      logPath: node.logPath,
    });
    return node.daemon;
  }

  /** Waits until node `k`'s daemon answers `status` (its control socket is up). */
  async waitUntilServing(k: number, timeoutMs = 30_000): Promise<DaemonStatus> {
    const node = this.node(k);
    return await this.waitFor(
      async () => {
        if (node.daemon?.status) {
          throw new Error(
            `${node.name}'s daemon exited (${node.daemon.status.code}) while starting`,
          );
        }
        return await this.status(k);
      },
      timeoutMs,
      `${node.name}'s daemon to answer status`,
      { stopOnError: /daemon exited/ },
    );
  }

  /** Stops node `k`'s daemon by PID (SIGTERM, SIGKILL after `graceMs`). */
  async stop(k: number, graceMs = 10_000): Promise<Deno.CommandStatus | null> {
    const daemon = this.node(k).daemon;
    if (!daemon) return null;
    return await daemon.stop(graceMs);
  }

  /** Crashes node `k`'s daemon: SIGKILL, no chance to clean up. */
  async crash(k: number): Promise<Deno.CommandStatus | null> {
    const daemon = this.node(k).daemon;
    if (!daemon) return null;
    return await daemon.kill();
  }

  /** `meshguard status --json --control <node k's socket>`, parsed. */
  async status(k: number): Promise<DaemonStatus> {
    const node = this.node(k);
    const result = await this.cli("status", "--json", "--control", node.controlPath);
    if (result.code !== 0) {
      throw new Error(`status of ${node.name} failed (${result.code}): ${result.stderr.trim()}`);
    }
    const status = parseStatus(result.stdout);
    for (const observer of this.statusObservers) observer(node, status);
    return status;
  }

  /** `meshguard status` (the human table) for node `k`. */
  async statusTable(k: number): Promise<string> {
    const node = this.node(k);
    const result = await this.cli("status", "--control", node.controlPath);
    if (result.code !== 0) {
      throw new Error(`status of ${node.name} failed (${result.code}): ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /**
   * Polls `probe` every 250 ms until it returns a value other than false/null/undefined, and
   * returns that value. Errors thrown by the probe count as "not yet" (a daemon that is still
   * starting) unless they match `stopOnError`. Throws after `timeoutMs` naming `description` and
   * the last thing the probe saw.
   */
  async waitFor<T>(
    probe: () => Promise<T | false | null | undefined>,
    timeoutMs: number,
    description: string,
    options: { stopOnError?: RegExp } = {},
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = "nothing yet";
    for (;;) {
      try {
        const value = await probe();
        if (value !== false && value !== null && value !== undefined) return value;
        last = `probe returned ${String(value)}`;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (options.stopOnError?.test(message)) throw error;
        last = message;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `timed out after ${
            (timeoutMs / 1000).toFixed(0)
          } s waiting for ${description}; last: ${last}`,
        );
      }
      await pause(POLL_INTERVAL_MS);
    }
  }

  /** One ping (`-c 1 -W 1`) from node `from` to `address`; true when it was answered. */
  async ping(from: number, address: string): Promise<boolean> {
    return (await this.pingOnce(from, address)).code === 0;
  }

  /** One ping (`-c 1 -W 1`) from node `from` to `address`, with ping's own output. */
  pingOnce(from: number, address: string): Promise<CommandResult> {
    const node = this.node(from);
    return tryRun("ip", ["netns", "exec", node.namespace, "ping", "-c", "1", "-W", "1", address]);
  }

  /** Pings until one is answered (the first may wait for a handshake); throws after the timeout. */
  async waitForPing(from: number, address: string, timeoutMs = 15_000): Promise<void> {
    await this.waitFor(
      async () => await this.ping(from, address),
      timeoutMs,
      `${this.node(from).name} → ${address} ping`,
    );
  }

  /** The peers of node `k`'s WireGuard device (`wg show <if> dump` inside its namespace). */
  async wireGuardPeers(k: number): Promise<WireGuardPeer[]> {
    const node = this.node(k);
    return parseWireGuardDump(
      await run("ip", "netns", "exec", node.namespace, "wg", "show", node.interfaceName, "dump"),
    );
  }

  /** Whether node `k`'s mesh interface exists in its namespace (`ip -n NS link show IF`). */
  async interfaceExists(k: number): Promise<boolean> {
    const node = this.node(k);
    const result = await tryRun("ip", ["-n", node.namespace, "link", "show", node.interfaceName]);
    return result.code === 0;
  }

  /** The UAPI socket path of node `k`'s WireGuard device. */
  uapiSocket(k: number): string {
    return `${UAPI_DIRECTORY}/${this.node(k).interfaceName}.sock`;
  }

  /**
   * One of the kernel's UDP counters (`/proc/net/snmp`) in node `k`'s namespace: `NoPorts` counts
   * datagrams that arrived for a port nobody listens on, `OutDatagrams` those sent from it.
   */
  async udpCounter(
    k: number,
    counter: "NoPorts" | "OutDatagrams" | "InDatagrams",
  ): Promise<number> {
    const snmp = await run("ip", "netns", "exec", this.node(k).namespace, "cat", "/proc/net/snmp");
    const lines = snmp.split("\n").filter((line) => line.startsWith("Udp: "));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const index = names.indexOf(counter);
    if (index < 0) throw new Error(`no Udp ${counter} counter in /proc/net/snmp:\n${snmp}`);
    return Number(values[index]);
  }

  /** Starts a helper process (traffic, flood) in node `k`'s namespace; disposed with the lab. */
  spawnHelper(k: number, script: string, args: string[]): NamespaceProcess {
    const process = new NamespaceProcess(
      this.node(k).namespace,
      [Deno.execPath(), "run", "--no-prompt", "--allow-net", script, ...args],
      { cwd: REPO_ROOT },
    );
    this.helpers.push(process);
    return process;
  }

  /**
   * Sends `bytes` random bytes over TCP from node `from` to `address` (a mesh address of node
   * `to`) and checks that the same number of bytes with the same SHA-256 arrived.
   */
  async tcpTransfer(
    from: number,
    to: number,
    address: string,
    bytes: number,
    timeoutMs = 60_000,
  ): Promise<{ sha256: string; seconds: number }> {
    const port = String(this.nextPort++);
    const server = this.spawnHelper(to, TRAFFIC, ["tcp-server", address, port]);
    await server.waitForOutput(/listening/, 15_000);
    const started = performance.now();
    const client = this.spawnHelper(from, TRAFFIC, ["tcp-client", address, port, String(bytes)]);
    const line = /^\d+ [0-9a-f]{64}$/m;
    const [sent, received] = await Promise.all([
      client.waitForOutput(line, timeoutMs),
      server.waitForOutput(line, timeoutMs),
    ]);
    const seconds = (performance.now() - started) / 1000;
    await Promise.all([client.stop(), server.stop()]);
    if (sent !== received) {
      throw new Error(`TCP transfer corrupted: sent ${sent}, received ${received}`);
    }
    if (!sent.startsWith(`${bytes} `)) throw new Error(`sent ${sent}, expected ${bytes} bytes`);
    return { sha256: sent.split(" ")[1], seconds };
  }

  /** Node `from` sends `count` hostile datagrams (see flood.ts) to node `to`'s mesh port. */
  async flood(from: number, to: number, count: number, claimedKeys: string[]): Promise<void> {
    const process = this.spawnHelper(from, FLOOD, [
      this.node(to).underlay,
      String(MESH_PORT),
      String(count),
      claimedKeys.join(","),
    ]);
    await process.waitForOutput(new RegExp(`^sent ${count}$`, "m"), 60_000);
    await process.stop();
  }

  /** The last `lines` lines of every node's daemon log, labelled. */
  async logTails(lines = 60): Promise<string> {
    const parts: string[] = [];
    for (const node of this.nodes) {
      let text: string;
      try {
        text = await Deno.readTextFile(node.logPath);
      } catch {
        text = "(no log: never started)\n";
      }
      const tail = text.trimEnd().split("\n").slice(-lines).join("\n");
      parts.push(
        `----- ${node.name} (${node.namespace}, ${node.interfaceName}) log tail -----\n${tail}`,
      );
    }
    return parts.join("\n");
  }

  /**
   * Removes everything: daemons and helpers (each by its PID), namespaces (the bridge and veths go
   * with them), UAPI sockets a crashed daemon left, and the temp dir with config dirs, logs and
   * control sockets. Safe to call twice and after a failed build. Returns what it had to clean up
   * that a well-behaved daemon should have removed itself (for reports, not for hiding bugs).
   */
  dispose(): Promise<string[]> {
    // Every caller (a failed build, a test's finally, a Ctrl-C handler) gets the one cleanup,
    // and none returns before it has finished.
    this.disposing ??= this.removeEverything();
    return this.disposing;
  }

  private async removeEverything(): Promise<string[]> {
    this.disposed = true;
    // A build interrupted by Ctrl-C stops at its next check; let its last command finish first,
    // or that command (a `trust`, say) could write into a directory already removed.
    await this.building?.catch(() => {});
    const leftovers: string[] = [];
    await Promise.all([
      ...this.nodes.map((node) => node.daemon?.stop(5_000)),
      ...this.helpers.map((helper) => helper.stop(2_000)),
    ]);
    for (const node of this.nodes) {
      try {
        await Deno.remove(`${UAPI_DIRECTORY}/${node.interfaceName}.sock`);
        leftovers.push(`${UAPI_DIRECTORY}/${node.interfaceName}.sock`);
      } catch {
        // Not there: the daemon removed it (or never made it).
      }
    }
    for (const name of [...this.namespaces].reverse()) {
      await tryRun("ip", ["netns", "del", name]).catch(() => {});
    }
    if (this.root) await Deno.remove(this.root, { recursive: true }).catch(() => {});
    return leftovers;
  }

  /** The namespaces this lab made that still exist (empty after `dispose`). */
  async remainingNamespaces(): Promise<string[]> {
    const listed = await run("ip", "netns", "list");
    return listed.split("\n").map((line) => line.split(" ")[0]).filter((name) =>
      name.startsWith(`mgm-${this.tag}-`)
    );
  }
}
