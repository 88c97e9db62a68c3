/**
 * A two-host lab for interop tests: namespaces joined by veth (192.0.2.1 ↔ 192.0.2.2), a
 * WireGuard device in each (ours or wireguard-go), configured with `wg` like any user would.
 * Processes are stopped by their own PID; `dispose` removes every namespace, process and file.
 */

import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TRAFFIC = fileURLToPath(new URL("./traffic.ts", import.meta.url));
const COMMAND_TIMEOUT_MS = 30_000;

/** True when the interop suite can run (root and the tools installed). */
export function interopSkipReason(): string | null {
  try {
    if (Deno.uid() !== 0) return "interop suite skipped: needs root";
  } catch {
    return "interop suite skipped: cannot tell the uid";
  }
  for (const tool of ["/usr/bin/wireguard-go", "/usr/bin/wg", "/usr/bin/ping"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `interop suite skipped: ${tool} is missing (apt install wireguard-go wireguard-tools iputils-ping)`;
    }
  }
  return null;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, ...args: string[]): Promise<string> {
  return runFor(COMMAND_TIMEOUT_MS, command, ...args);
}

/** Like `run`, with its own time limit (for long traffic runs). */
export async function runFor(
  timeoutMs: number,
  command: string,
  ...args: string[]
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${output.code}): ${decoder.decode(output.stderr)}${
        decoder.decode(output.stdout)
      }`,
    );
  }
  return decoder.decode(output.stdout);
}

/** Pings `address` from inside `namespace` (0.2 s apart, 3 s per reply); throws when any reply is missing. */
export function pingFrom(namespace: string, address: string, count = 3): Promise<string> {
  return run(
    "ip",
    "netns",
    "exec",
    namespace,
    "ping",
    "-c",
    String(count),
    "-i",
    "0.2",
    "-W",
    "3",
    address,
  );
}

/**
 * Creates namespaces `<prefix>-<tag>-a` and `-b` joined by a veth pair (`<veth>a<tag>`,
 * `<veth>b<tag>`) addressed 192.0.2.1/24 and 192.0.2.2/24; each name is pushed to `created` as
 * soon as it exists, so the caller's dispose removes what a failure left. Returns both names.
 */
export async function twoJoinedNamespaces(
  prefix: string,
  veth: string,
  tag: string,
  created: string[],
): Promise<string[]> {
  const names = [`${prefix}-${tag}-a`, `${prefix}-${tag}-b`];
  for (const name of names) {
    await run("ip", "netns", "add", name);
    created.push(name);
    await run("ip", "-n", name, "link", "set", "lo", "up");
  }
  const veths = [`${veth}a${tag}`, `${veth}b${tag}`];
  await run(
    "ip",
    "link",
    "add",
    veths[0],
    "netns",
    names[0],
    "type",
    "veth",
    "peer",
    "name",
    veths[1],
    "netns",
    names[1],
  );
  for (let i = 0; i < 2; i++) {
    await run("ip", "-n", names[i], "addr", "add", `192.0.2.${i + 1}/24`, "dev", veths[i]);
    await run("ip", "-n", names[i], "link", "set", veths[i], "up");
  }
  return names;
}

/** A long-running process inside a namespace whose output lines can be awaited. */
export class NamespaceProcess {
  private readonly child: Deno.ChildProcess;
  private text = "";
  private readonly waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(namespace: string, command: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command("ip", {
      args: ["netns", "exec", namespace, ...command],
      env,
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Exit counts once everything printed was read: a fast process's last line (the digest)
    // can still be in the pipe when its status arrives.
    const drained = Promise.all([this.pump(this.child.stdout), this.pump(this.child.stderr)]);
    this.exited = Promise.all([this.child.status, drained]).then(([status]) => status);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.text += decoder.decode(chunk, { stream: true });
      for (const waiter of [...this.waiters]) {
        const match = this.text.match(waiter.pattern);
        if (match) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(match[0]);
        }
      }
    }
  }

  /** The process's id (`ip netns exec` execs the command, so it is the command's own). */
  get pid(): number {
    return this.child.pid;
  }

  /** Everything the process printed so far. */
  get output(): string {
    return this.text;
  }

  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const match = this.text.match(pattern);
    if (match) return Promise.resolve(match[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${pattern} in:\n${this.text}`));
      }, timeoutMs);
      this.waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      this.exited.then((status) => {
        clearTimeout(timer);
        reject(new Error(`exited (${status.code}) before ${pattern}:\n${this.text}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
        resolve();
      }, graceMs);
    });
    const status = await Promise.race([this.exited, killed.then(() => this.exited)]);
    clearTimeout(timer);
    return status;
  }
}

/** Which implementation runs a device. */
export type DeviceKind = "meshguard" | "wireguard-go";

/** One side of the lab. */
export interface Side {
  namespace: string;
  interfaceName: string;
  underlay: string;
  meshIpv4: string;
  meshIpv6: string;
  publicKey: string;
  keyFile: string;
  process: NamespaceProcess;
}

/** Two namespaces with one WireGuard device each, peered and addressed. */
export class Lab {
  readonly sides: Side[] = [];
  private readonly processes: NamespaceProcess[] = [];
  private readonly namespaces: string[] = [];
  private readonly files: string[] = [];
  private readonly tag = crypto.getRandomValues(new Uint8Array(3)).reduce(
    (text, byte) => text + byte.toString(16).padStart(2, "0"),
    "",
  );

  /** Builds the lab with the given device kinds on side 0 and side 1. */
  static async create(
    kinds: [DeviceKind, DeviceKind],
    /** noOffload: `--no-offload` on both meshguard sides, or per side. */
    options: {
      workers?: number;
      noOffload?: boolean | [boolean, boolean];
      /** meshguard's --retire-idle (seconds): how long idle before an added worker retires. */
      retireIdle?: number;
    } = {},
  ): Promise<Lab> {
    const lab = new Lab();
    try {
      const off = options.noOffload ?? false;
      await lab.build(
        kinds,
        options.workers,
        typeof off === "boolean" ? [off, off] : off,
        options.retireIdle,
      );
    } catch (error) {
      await lab.dispose();
      throw error;
    }
    return lab;
  }

  private async build(
    kinds: [DeviceKind, DeviceKind],
    workers: number | undefined,
    noOffload: [boolean, boolean],
    retireIdle: number | undefined,
  ): Promise<void> {
    const names = await twoJoinedNamespaces("mgi", "v", this.tag, this.namespaces);
    for (let i = 0; i < 2; i++) {
      const interfaceName = `${kinds[i] === "meshguard" ? "mg" : "wg"}${this.tag}${i}`;
      const keyFile = await Deno.makeTempFile({ prefix: "meshguard-interop-" });
      this.files.push(keyFile);
      await Deno.chmod(keyFile, 0o600);
      await Deno.writeTextFile(keyFile, await run("wg", "genkey"));
      const publicKey = (await pubkeyOf(keyFile)).trim();
      const process = kinds[i] === "meshguard"
        ? new NamespaceProcess(names[i], [
          Deno.execPath(),
          "run",
          "--no-prompt",
          "--allow-read",
          "--allow-write",
          "--allow-net",
          "--allow-ffi",
          "main.ts",
          "device",
          interfaceName,
          ...(workers === undefined ? [] : ["--workers", String(workers)]),
          ...(noOffload[i] ? ["--no-offload"] : []),
          ...(retireIdle === undefined ? [] : ["--retire-idle", String(retireIdle)]),
        ])
        : new NamespaceProcess(names[i], ["wireguard-go", interfaceName], {
          WG_PROCESS_FOREGROUND: "1",
          LOG_LEVEL: "verbose",
        });
      this.processes.push(process);
      await process.waitFor(kinds[i] === "meshguard" ? /UAPI \S+/ : /UAPI listener started/);
      this.sides.push({
        namespace: names[i],
        interfaceName,
        underlay: `192.0.2.${i + 1}`,
        meshIpv4: `10.99.0.${i + 1}`,
        meshIpv6: `fd99:6d67::${i + 1}`,
        publicKey,
        keyFile,
        process,
      });
    }
    for (let i = 0; i < 2; i++) {
      const self = this.sides[i];
      const other = this.sides[1 - i];
      await this.wg(
        i,
        "set",
        self.interfaceName,
        "private-key",
        self.keyFile,
        "listen-port",
        "51820",
        "peer",
        other.publicKey,
        "endpoint",
        `${other.underlay}:51820`,
        "allowed-ips",
        `${other.meshIpv4}/32,${other.meshIpv6}/128`,
      );
      await run(
        "ip",
        "-n",
        self.namespace,
        "addr",
        "add",
        `${self.meshIpv4}/16`,
        "dev",
        self.interfaceName,
      );
      await run(
        "ip",
        "-n",
        self.namespace,
        "addr",
        "add",
        `${self.meshIpv6}/64`,
        "dev",
        self.interfaceName,
      );
      await run("ip", "-n", self.namespace, "link", "set", self.interfaceName, "up");
    }
  }

  /** `wg …` inside side `i`'s namespace. */
  wg(i: number, ...args: string[]): Promise<string> {
    return run("ip", "netns", "exec", this.sides[i].namespace, "wg", ...args);
  }

  /** Pings from side `i` to `address`; throws when any reply is missing. */
  ping(i: number, address: string, count = 3): Promise<string> {
    return pingFrom(this.sides[i].namespace, address, count);
  }

  /** Starts a traffic helper in side `i`'s namespace. */
  traffic(i: number, ...args: string[]): NamespaceProcess {
    const process = new NamespaceProcess(this.sides[i].namespace, [
      Deno.execPath(),
      "run",
      "--no-prompt",
      "--allow-net",
      TRAFFIC,
      ...args,
    ]);
    this.processes.push(process);
    return process;
  }

  /** Stops every process by PID, deletes the namespaces and key files. */
  async dispose(): Promise<void> {
    for (const process of this.processes) await process.stop();
    for (const name of this.namespaces) await run("ip", "netns", "del", name).catch(() => {});
    for (const file of this.files) await Deno.remove(file).catch(() => {});
  }
}

async function pubkeyOf(keyFile: string): Promise<string> {
  const child = new Deno.Command("wg", { args: ["pubkey"], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(await Deno.readFile(keyFile));
  await writer.close();
  return new TextDecoder().decode((await child.output()).stdout);
}
