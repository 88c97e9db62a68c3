/**
 * The daemon without root: two `meshguard up --no-tun` processes on loopback find each other
 * from one seed, report each other in `status --json`, react to a live `revoke` and `trust`, and
 * stop on `down`. (The full mesh with TUN and WireGuard is the root-only `mesh` suite.)
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { REPO_ROOT, runMeshguard } from "../cli/cli_harness.ts";
import type { DaemonStatus } from "../../lib/control/control_protocol.ts";

const DENO = Deno.execPath();
const WAIT_MS = 30_000;

/** Runs one CLI command with the permissions the README documents for it. */
function cli(args: string[]) {
  return runMeshguard(args, { configDir: null });
}

class Node {
  readonly controlPath: string;
  child: Deno.ChildProcess | null = null;
  log = "";
  publicKey = "";

  /** The UDP port, known once the daemon answers status (it binds port 0: any free port). */
  port = 0;

  constructor(readonly configDir: string) {
    this.controlPath = `${configDir}.sock`;
  }

  start(seeds: number[]): void {
    const seedArgs = seeds.flatMap((port) => ["--seed", `127.0.0.1:${port}`]);
    this.child = new Deno.Command(DENO, {
      args: [
        "run",
        "--no-prompt",
        "-A",
        "main.ts",
        "up",
        "--no-tun",
        "--config",
        this.configDir,
        "--port",
        "0",
        "--control",
        this.controlPath,
        "--log-level",
        "debug",
        ...seedArgs,
      ],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of this.child!.stderr) this.log += decoder.decode(chunk);
    })().catch(() => {});
  }

  async status(): Promise<DaemonStatus | null> {
    const result = await cli(["status", "--json", "--control", this.controlPath]);
    return result.code === 0 ? JSON.parse(result.stdout) as DaemonStatus : null;
  }

  async stop(): Promise<void> {
    if (this.child === null) return;
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.child.status;
    this.child = null;
  }
}

async function waitFor(
  what: string,
  nodes: Node[],
  predicate: () => Promise<boolean>,
): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < WAIT_MS) {
    if (await predicate()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}\n${nodes.map((n) => n.log).join("\n---\n")}`);
}

function peerState(status: DaemonStatus | null, publicKey: string): string | null {
  return status?.peers.find((peer) => peer.public_key === publicKey)?.state ?? null;
}

Deno.test("gossip-only daemons: join from a seed, live revoke and trust, down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-gossip-" });
  const nodes = [new Node(`${dir}/a`), new Node(`${dir}/b`)];
  try {
    for (const node of nodes) {
      const made = await cli(["keygen", "--config", node.configDir]);
      assertEquals(made.code, 0, made.stderr);
      node.publicKey = made.stdout.trim();
    }
    const [a, b] = nodes;
    for (const [node, other, name] of [[a, b, "b"], [b, a, "a"]] as const) {
      const trusted = await cli([
        "trust",
        other.publicKey,
        "--name",
        name,
        "--config",
        node.configDir,
      ]);
      assertEquals(trusted.code, 0, trusted.stderr);
    }
    a.start([]);
    await waitFor(
      "a to answer status",
      nodes,
      async () => (a.port = (await a.status())?.port ?? 0) > 0,
    );
    b.start([a.port]);
    const joined = await waitFor(
      "both to see each other alive",
      nodes,
      async () =>
        peerState(await a.status(), b.publicKey) === "alive" &&
        peerState(await b.status(), a.publicKey) === "alive",
    );
    console.log(`  joined in ${Math.round(joined)} ms`);
    const status = (await a.status())!;
    assertEquals(status.public_key, a.publicKey);
    assertTrue(status.port > 0);
    assertEquals(status.members.alive, 1);
    assertEquals(status.peers[0].name, "b");

    // Revoke on a running daemon: b disappears from a's members at once.
    const revoked = await cli(["revoke", "b", "--config", a.configDir]);
    assertEquals(revoked.code, 0, revoked.stderr);
    await waitFor(
      "a to drop b",
      nodes,
      async () => peerState(await a.status(), b.publicKey) === null,
    );
    // …and stays out while it still tries (b keeps probing and rejoining a).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assertEquals(peerState(await a.status(), b.publicKey), null);

    const again = await cli(["trust", b.publicKey, "--name", "b", "--config", a.configDir]);
    assertEquals(again.code, 0, again.stderr);
    await waitFor(
      "b to come back on a",
      nodes,
      async () =>
        peerState(await a.status(), b.publicKey) === "alive" &&
        peerState(await b.status(), a.publicKey) === "alive",
    );

    // down: the daemon answers, leaves (b sees "left", not "dead") and exits 0.
    const down = await cli(["down", "--control", b.controlPath]);
    assertEquals(down.code, 0, down.stderr);
    const exit = await b.child!.status;
    b.child = null;
    assertEquals(exit.code, 0, b.log);
    await waitFor(
      "a to see b leave",
      nodes,
      async () => peerState(await a.status(), b.publicKey) === "left",
    );
    assertTrue(b.log.includes("'meshguard down' requested"), b.log);
    await assertGone(b.controlPath);
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertGone(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  throw new Error(`${path} is still there`);
}
