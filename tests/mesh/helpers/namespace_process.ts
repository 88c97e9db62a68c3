/**
 * A long-running process inside a network namespace. Its stdout and stderr are kept in memory
 * (so tests can await a line instead of sleeping) and, when asked, appended to a log file that
 * outlives it (so a failing test can show what every daemon said). It is stopped by its own PID:
 * `ip netns exec` execs the command, so the child's PID is the command's.
 */

/** Where a namespace process runs and where its output goes. */
export interface NamespaceProcessOptions {
  /** Working directory of the command. */
  cwd: string;
  /** When set, everything the process prints is appended to this file. */
  logPath?: string;
}

/** One process started with `ip netns exec`. */
export class NamespaceProcess {
  /** The process id (the command itself, not a wrapper). */
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  private readonly child: Deno.ChildProcess;
  private text = "";
  private finalStatus: Deno.CommandStatus | null = null;
  private readonly drained: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(namespace: string, command: string[], options: NamespaceProcessOptions) {
    this.child = new Deno.Command("ip", {
      args: ["netns", "exec", namespace, ...command],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.child.pid;
    this.drained = this.drain(options.logPath);
    // The exit counts only once its output is read: a process that printed its last line and
    // exited must not look as if it exited before printing it.
    this.exited = this.child.status.then(async (status) => {
      await this.closed();
      this.finalStatus = status;
      this.notify();
      return status;
    });
  }

  private async drain(logPath: string | undefined): Promise<void> {
    const log = logPath === undefined
      ? null
      : await Deno.open(logPath, { append: true, create: true, mode: 0o600 });
    // Both streams feed one ordered write chain so log lines never interleave mid-chunk.
    let writes = Promise.resolve();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true });
        if (log) writes = writes.then(() => writeAll(log, chunk));
        this.notify();
      }
    };
    try {
      await Promise.all([pump(this.child.stdout), pump(this.child.stderr)]);
      await writes;
    } finally {
      log?.close();
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Everything the process printed so far (stdout and stderr, interleaved). */
  get output(): string {
    return this.text;
  }

  /** The exit status once it has exited, else null. */
  get status(): Deno.CommandStatus | null {
    return this.finalStatus;
  }

  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.text.match(pattern);
        if (match) {
          finish();
          resolve(match[0]);
        } else if (this.finalStatus) {
          finish();
          reject(
            new Error(
              `exited (${this.finalStatus.code}) before printing ${pattern}:\n${this.text}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in:\n${this.text}`),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a signal to this process (and only this one); a no-op once it has exited. */
  signal(signal: Deno.Signal): void {
    if (this.finalStatus) return;
    try {
      this.child.kill(signal);
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Waits up to `timeoutMs` for the exit; null when it is still running. */
  async waitForExit(timeoutMs: number): Promise<Deno.CommandStatus | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) =>
      timer = setTimeout(() => resolve(null), timeoutMs)
    );
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`; waits for its output to end. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    this.signal("SIGTERM");
    let status = await this.waitForExit(graceMs);
    if (status === null) {
      this.signal("SIGKILL");
      status = await this.exited;
    }
    await this.closed();
    return status;
  }

  /** SIGKILL at once (a crash), then waits for the exit. */
  async kill(): Promise<Deno.CommandStatus> {
    this.signal("SIGKILL");
    const status = await this.exited;
    await this.closed();
    return status;
  }

  /** Waits (bounded) for the output streams to close and the log file to be flushed. */
  async closed(timeoutMs = 5_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.drained.catch(() => {}),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
