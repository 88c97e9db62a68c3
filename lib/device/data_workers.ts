/**
 * The data workers of one device, seen from the main thread: starts them, posts configuration
 * to all of them (waking each through its eventfd, since an idle worker sleeps in poll), and
 * stops them.
 */

import { EventFd } from "../../ffi/event_fd.ts";
import type { WorkerReply, WorkerRequest } from "./device_protocol.ts";
import type { SwimForwardingDrops } from "./worker_forwarding.ts";

/** What a worker reports when it stops. */
export type WorkerSummary = Extract<WorkerReply, { type: "stopped" }>;
import { deviceWorkerUrl } from "./worker_location.ts";

type Init = Extract<WorkerRequest, { type: "init" }>;

/** A running set of data workers. */
export class DataWorkers {
  private readonly summaries: WorkerSummary[] = [];
  private resolveStopped: (() => void) | null = null;
  private dead = false;
  /** Replies awaited by `retireLast`, by "type:workerIndex"; all resolved null if one dies. */
  private readonly awaited = new Map<string, (reply: WorkerReply | null) => void>();
  /** Until every worker is ready, a failure is start()'s error, not the owner's news. */
  private started = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly wakes: EventFd[],
    private readonly onReply: (reply: WorkerReply) => void,
    private readonly onDeath: (message: string) => void,
  ) {}

  /**
   * Starts `count` workers; `init(i, wakeFd)` builds worker i's init message (worker indices
   * are 1..count). Resolves once all are ready; `onReply` then gets every other reply and
   * `onDeath` the first failure.
   */
  static async start(
    count: number,
    init: (workerIndex: number, wakeFd: number) => Init,
    onReply: (reply: WorkerReply) => void,
    onDeath: (message: string) => void,
  ): Promise<DataWorkers> {
    const pool = new DataWorkers([], [], onReply, onDeath);
    const readies: Promise<void>[] = [];
    for (let i = 1; i <= count; i++) readies.push(pool.spawn(init));
    try {
      await Promise.all(readies);
    } catch (error) {
      pool.terminate();
      throw error;
    }
    pool.started = true;
    return pool;
  }

  /**
   * Starts one more worker (index size + 1) once all are running. It takes messages at once
   * (they queue behind its init); resolves when it is ready. A failure is `onDeath`'s news.
   */
  add(init: (workerIndex: number, wakeFd: number) => Init): Promise<void> {
    if (this.dead) return Promise.resolve();
    return this.spawn(init).catch(() => {});
  }

  private spawn(init: (workerIndex: number, wakeFd: number) => Init): Promise<void> {
    const i = this.workers.length + 1;
    const worker = new Worker(deviceWorkerUrl(), { type: "module" });
    const wake = EventFd.create();
    this.workers.push(worker);
    this.wakes.push(wake);
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.type === "ready") {
          worker.onmessage = (event: MessageEvent<WorkerReply>) => this.dispatch(event.data);
          resolve();
        } else if (reply.type === "failed") {
          reject(new Error(reply.message));
          this.die(`data worker ${i} failed: ${reply.message}`);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const message = `data worker ${i} failed: ${event.message}`;
        reject(new Error(message));
        this.die(message);
      };
    });
    worker.postMessage(init(i, wake.fd));
    return ready;
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  private dispatch(reply: WorkerReply): void {
    if (reply.type === "queues-set" || reply.type === "retired") {
      const key = `${reply.type}:${reply.workerIndex}`;
      this.awaited.get(key)?.(reply);
      this.awaited.delete(key);
    } else if (reply.type === "stopped") {
      this.summaries.push(reply);
      if (this.summaries.length === this.workers.length) this.resolveStopped?.();
    } else if (reply.type === "failed") {
      this.die(`data worker failed: ${reply.message}`);
    } else {
      this.onReply(reply);
    }
  }

  private die(message: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const resolve of this.awaited.values()) resolve(null);
    this.awaited.clear();
    this.resolveStopped?.();
    if (this.started) this.onDeath(message);
  }

  /** Posts a message to worker `i` (0-based) and wakes it. */
  post(i: number, message: WorkerRequest): void {
    if (this.dead) return;
    this.workers[i].postMessage(message);
    this.wakes[i].signal();
  }

  /** Posts a message to every worker. */
  broadcast(message: WorkerRequest): void {
    for (let i = 0; i < this.workers.length; i++) this.post(i, message);
  }

  private reply(type: "queues-set" | "retired", workerIndex: number): Promise<WorkerReply | null> {
    return new Promise((resolve) => this.awaited.set(`${type}:${workerIndex}`, resolve));
  }

  /**
   * Retires the last worker (never the only one): the others and it write to `tunFds` (the
   * queues without its own) from now on, it drains its queue and socket and stops, and it is
   * ended. Resolves, once all that happened, with what it carried; null if a worker died (the
   * device has failed then) or only one runs. The caller closes its queue and socket after.
   */
  async retireLast(tunFds: number[]): Promise<WorkerSummary | null> {
    if (this.dead || this.workers.length <= 1) return null;
    const last = this.workers.length;
    const replies: Promise<WorkerReply | null>[] = [];
    for (let i = 1; i < last; i++) {
      replies.push(this.reply("queues-set", i));
      this.post(i - 1, { type: "queues", tunFds });
    }
    const retired = this.reply("retired", last);
    this.post(last - 1, { type: "retire", tunFds });
    const [summary, ...taken] = await Promise.all([retired, ...replies]);
    if (this.dead || summary?.type !== "retired" || taken.includes(null)) return null;
    this.workers.pop()!.terminate();
    this.wakes.pop()!.close();
    return { ...summary, type: "stopped" };
  }

  /**
   * Asks every worker to stop and waits for them (at most `timeoutMs`), then ends them.
   * Returns what the workers that stopped in time reported, by worker index.
   */
  async stop(timeoutMs: number): Promise<WorkerSummary[]> {
    const stopped = new Promise<void>((resolve) => this.resolveStopped = resolve);
    if (!this.dead) this.broadcast({ type: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.dead ? Promise.resolve() : stopped, timeout]);
    clearTimeout(timer);
    this.terminate();
    return [...this.summaries].sort((a, b) => a.workerIndex - b.workerIndex);
  }

  private terminate(): void {
    this.dead = true;
    for (const worker of this.workers) worker.terminate();
    for (const wake of this.wakes) wake.close();
    this.wakes.length = 0;
  }
}

/**
 * The stop log line: packets each worker carried, and (`swimDrops`, in mesh mode) the SWIM
 * datagrams dropped before membership saw them.
 */
export function describeWorkerSummaries(
  summaries: readonly WorkerSummary[],
  swimDrops: SwimForwardingDrops | null,
): string {
  const workers = summaries.map((s) => `${s.workerIndex}: ${s.packetsOut} out, ${s.packetsIn} in`)
    .join("; ");
  const drops = swimDrops === null
    ? ""
    : `; SWIM datagrams dropped before membership: ${swimDrops.malformed} malformed, ${swimDrops.rateLimited} over their source's rate, ${swimDrops.queueFull} with the queue full`;
  return `data workers: ${workers}${drops}`;
}
