/**
 * Test harness for the netns suite: unique network namespaces (created and deleted with `ip`,
 * which only tests may run), and `Agent`, a child process running ffi/ code inside a
 * namespace. Every call has a bounded timeout; `withNamespaces` removes everything it made.
 */

/** True when the process runs as root (the suite needs CAP_SYS_ADMIN and CAP_NET_ADMIN). */
export const IS_ROOT: boolean = (() => {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
})();

/** Why the netns tests are ignored when not root. */
export const SKIP_REASON = "netns suite skipped: creating network namespaces needs root";

const AGENT = new URL("./ffi_agent.ts", import.meta.url).pathname;
const COMMAND_TIMEOUT_MS = 15_000;
const AGENT_STOP_TIMEOUT_MS = 5_000;

/** A short random tag for names: `mgt-<tag>` fits the 15-byte interface name limit. */
export function uniqueTag(): string {
  return crypto.getRandomValues(new Uint8Array(3)).reduce(
    (text, byte) => text + byte.toString(16).padStart(2, "0"),
    "",
  );
}

/** Runs `ip <args>` and returns stdout; throws with stderr when it fails or takes too long. */
export async function ip(...args: string[]): Promise<string> {
  const child = new Deno.Command("ip", {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).spawn();
  const output = await child.output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(`ip ${args.join(" ")} failed: ${decoder.decode(output.stderr).trim()}`);
  }
  return decoder.decode(output.stdout);
}

/** `ip -n <ns> -j <args>` parsed as JSON. */
// deno-lint-ignore no-explicit-any
export async function ipJson(namespace: string, ...args: string[]): Promise<any> {
  const text = await ip("-n", namespace, "-j", ...args);
  return JSON.parse(text.trim() || "[]");
}

/** The names of the network namespaces that exist now. */
export async function namespaceNames(): Promise<string[]> {
  const text = await ip("netns", "list");
  return text.split("\n").map((line) => line.split(" ")[0]).filter((name) => name !== "");
}

/** An error the agent reported, with the FFI error's class name and errno. */
export class AgentError extends Error {
  constructor(
    readonly remoteName: string,
    readonly errno: number,
    readonly code: string,
    message: string,
  ) {
    super(`${remoteName}: ${message}`);
  }
}

/** A child process running `helpers/ffi_agent.ts` inside a namespace. */
export class Agent {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #stopped = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout);
  }

  /** Starts an agent in `namespace` and waits until it is ready. */
  static async start(namespace: string): Promise<Agent> {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        namespace,
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--allow-ffi",
        "--allow-read",
        AGENT,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    const agent = new Agent(child);
    try {
      await agent.#next(30_000); // first start may compile the agent's modules
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  /** Sends one request and returns its result; an FFI error becomes an `AgentError`. */
  async call(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = COMMAND_TIMEOUT_MS,
    // deno-lint-ignore no-explicit-any
  ): Promise<any> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op, ...args }) + "\n"));
    return await this.#next(timeoutMs);
  }

  async #next(timeoutMs: number): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const line = await Promise.race([
        this.#lines.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`agent gave no answer in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      if (line.done) throw new Error("the agent exited");
      const reply = JSON.parse(line.value);
      if (!reply.ok) {
        const { name, errno, code, message } = reply.error;
        throw new AgentError(name, errno, code, message);
      }
      return reply.result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the agent's stdin (it then exits) and kills it if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#writer.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(false), AGENT_STOP_TIMEOUT_MS)
      ),
    ]);
    clearTimeout(timer);
    if (!exited) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
    }
    // Drain whatever is left so the stdout stream closes (no leaked resources).
    while (!(await this.#lines.next()).done) { /* discard */ }
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
}

/**
 * Creates `count` namespaces named `mgt-<tag>-<i>` (loopback up), runs `body`, then stops every
 * agent it started and deletes the namespaces, which also removes their interfaces.
 */
export async function withNamespaces(
  count: number,
  body: (namespaces: string[], startAgent: (namespace: string) => Promise<Agent>) => Promise<void>,
): Promise<void> {
  const tag = uniqueTag();
  const namespaces: string[] = [];
  const agents: Agent[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `mgt-${tag}-${i}`;
      await ip("netns", "add", name);
      namespaces.push(name);
      await ip("-n", name, "link", "set", "lo", "up");
    }
    await body(namespaces, async (namespace) => {
      const agent = await Agent.start(namespace);
      agents.push(agent);
      return agent;
    });
  } finally {
    for (const agent of agents) await agent.stop();
    for (const name of namespaces) await ip("netns", "del", name);
  }
}
