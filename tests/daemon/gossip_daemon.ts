/**
 * One `meshguard up --no-tun` daemon on loopback for the end-to-end tests that need no root:
 * started on port 0 with its own control socket beside its config folder, its stderr kept for
 * the failure message, stopped with SIGTERM.
 */

import { REPO_ROOT, runMeshguard } from "../cli/cli_harness.ts";
import type { DaemonStatus } from "../../lib/control/control_protocol.ts";

/** How long any one wait of these tests may take. */
const WAIT_MS = 30_000;

/** How a daemon is started, beyond its config folder and seeds. */
export interface GossipDaemonOptions {
  /** Flags after `up --no-tun` (e.g. `--open`, `--log-level debug`). */
  flags?: string[];
  /** Deno permission flags; default `-A`. */
  permissions?: string[];
}

/** A `meshguard up --no-tun` process and what it logged. */
export class GossipDaemon {
  /** Its control socket, beside its config folder. */
  readonly controlPath: string;
  /** The running process, null once it exited. */
  child: Deno.ChildProcess | null = null;
  /** Its stderr so far. */
  log = "";
  /** The UDP port, known once the daemon answers status (it binds port 0: any free port). */
  port = 0;
  #logged: Promise<void> = Promise.resolve();

  /** A daemon of `configDir`, not started yet. */
  constructor(readonly configDir: string, readonly options: GossipDaemonOptions = {}) {
    this.controlPath = `${configDir}.sock`;
  }

  /** Starts it with `seeds` (loopback ports) and waits until it answers status. */
  async start(seeds: number[]): Promise<void> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        ...(this.options.permissions ?? ["-A"]),
        "main.ts",
        "up",
        "--no-tun",
        ...(this.options.flags ?? []),
        "--config",
        this.configDir,
        "--port",
        "0",
        "--control",
        this.controlPath,
        ...seeds.flatMap((port) => ["--seed", `127.0.0.1:${port}`]),
      ],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#logged = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.log += decoder.decode(chunk);
    })().catch(() => {});
    await waitForDaemons("the daemon to answer status", [this], async () => {
      this.port = (await this.status())?.port ?? 0;
      return this.port > 0;
    });
  }

  /** Its `status --json`, or null while it does not answer. */
  async status(): Promise<DaemonStatus | null> {
    const result = await runMeshguard(["status", "--json", "--control", this.controlPath], {
      configDir: null,
    });
    return result.code === 0 ? JSON.parse(result.stdout) as DaemonStatus : null;
  }

  /**
   * Waits (at most WAIT_MS) for it to exit on its own; its log is complete afterwards. A daemon
   * that does not exit is killed and the wait fails with its log.
   */
  async exited(): Promise<Deno.CommandStatus> {
    const child = this.child!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<null>((resolve) =>
      timer = setTimeout(() => resolve(null), WAIT_MS)
    );
    const status = await Promise.race([child.status, timedOut]);
    clearTimeout(timer);
    if (status === null) {
      this.#kill("SIGKILL");
      await child.status;
      await this.#logged;
      this.child = null;
      throw new Error(`the daemon did not exit within ${WAIT_MS} ms\n${this.log}`);
    }
    await this.#logged;
    this.child = null;
    return status;
  }

  /** Stops it (SIGTERM) if it runs, and waits (bounded) for it to exit. */
  async stop(): Promise<void> {
    if (this.child === null) return;
    this.#kill("SIGTERM");
    await this.exited();
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.child?.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Polls `predicate` until it holds; returns how long that took. Times out with every daemon's
 * log, which is where the reason is.
 */
export async function waitForDaemons(
  what: string,
  daemons: GossipDaemon[],
  predicate: () => Promise<boolean>,
): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < WAIT_MS) {
    if (await predicate()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}\n${daemons.map((d) => d.log).join("\n---\n")}`);
}

/** The state `status` gives the peer with `publicKey`, or null if it is not listed. */
export function peerState(status: DaemonStatus | null, publicKey: string): string | null {
  return status?.peers.find((peer) => peer.public_key === publicKey)?.state ?? null;
}
