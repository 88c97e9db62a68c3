/**
 * Changing how many data workers a device runs. Under load a busy worker asks
 * (`worker_load.ts`), and the device opens one more TUN queue and SO_REUSEPORT socket, tells
 * the running workers about the queue, and starts a worker on both, one at a time up to the
 * limit; the kernel steers flows to the new queue and socket at once (they wait there until the
 * worker runs, tens of ms). After a sustained idle period (`worker_retirement.ts`) the last
 * added worker retires: every worker stops writing to its queue, it drains its queue and
 * socket, and only then are both closed (the kernel rehashes flows over those left). The first
 * worker never retires, and the device can grow again later.
 */

import process from "node:process";
import type { TunDevice } from "../../ffi/tun.ts";
import type { DataWorkers } from "./data_workers.ts";
import type { DeviceSockets } from "./device_sockets.ts";
import type { WorkerRequest } from "./device_protocol.ts";
import { openTunQueue } from "./tun_queues.ts";
import { retireSampleInterval, WorkerRetirement } from "./worker_retirement.ts";

type Init = Extract<WorkerRequest, { type: "init" }>;

/** What growing and retiring need of the device. */
export interface GrowthContext {
  /** The device's TUN queues, one per worker (grown and shrunk in place). */
  queues: TunDevice[];
  sockets: DeviceSockets;
  workers: DataWorkers;
  /** Builds worker i's init message (1-based) from the device's current state. */
  initFor: (workerIndex: number, wakeFd: number) => Init;
  /** The relay edge's state for a new worker (null: none). */
  relayMessage: () => WorkerRequest | null;
  /** A worker retired: forget what it posted (its relay counters). */
  retired: (workerIndex: number) => void;
  /** The queues carry virtio-net headers; the sockets have UDP GRO on. */
  vnetHeader: boolean;
  receiveCoalescing: boolean;
  /** False once the device failed or is stopping. */
  alive: () => boolean;
  log: (message: string) => void;
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** One device's worker growth and retirement. */
export class WorkerGrowth {
  /** A worker is being added or retired (one change at a time). */
  private changing = false;
  private readonly retirement: WorkerRetirement;
  /** Samples for retirement while added workers run (none with one worker: no idle cost). */
  private timer: ReturnType<typeof setInterval> | null = null;

  /**
   * Grows `context`'s workers up to `limit`; retires added ones after `retireIdleMs` idle, down
   * to `floor` (the workers the device started with).
   */
  constructor(
    private readonly context: GrowthContext,
    private limit: number,
    retireIdleMs: number,
    private readonly floor = 1,
  ) {
    this.retirement = new WorkerRetirement(retireIdleMs);
  }

  /** Most workers (lowered to what runs when the kernel refuses a queue or socket). */
  get workerLimit(): number {
    return this.limit;
  }

  /** Adds one worker unless one is being added, the limit is reached or the device is down. */
  async grow(): Promise<void> {
    const { queues, sockets, workers, log } = this.context;
    if (this.changing || queues.length >= this.limit || !this.context.alive()) return;
    this.changing = true;
    const started = performance.now();
    try {
      const queue = openTunQueue(queues[0].name, this.context.vnetHeader);
      try {
        sockets.add(this.context.receiveCoalescing);
      } catch (error) {
        queue.close();
        throw error;
      }
      queues.push(queue);
    } catch (error) {
      this.limit = queues.length;
      log(`cannot add a data worker, staying at ${queues.length}: ${(error as Error).message}`);
      this.changing = false;
      return;
    }
    const index = queues.length;
    workers.broadcast({ type: "queues", tunFds: queues.map((queue) => queue.fd) });
    const ready = workers.add(this.context.initFor);
    const relay = this.context.relayMessage();
    if (relay !== null) workers.post(index - 1, relay);
    await ready;
    this.changing = false;
    if (!this.context.alive()) return;
    this.watchIdle();
    log(
      `data worker ${index} of ${this.limit} started under load, in ${
        Math.round(performance.now() - started)
      } ms`,
    );
  }

  /**
   * Retires the last worker (never one the device started with) unless a change is under way or the device is
   * down; its queue and socket close only after it drained them.
   */
  async retire(): Promise<void> {
    const { queues, sockets, workers, log } = this.context;
    if (this.changing || queues.length <= this.floor || !this.context.alive()) return;
    this.changing = true;
    const index = queues.length;
    const summary = await workers.retireLast(queues.slice(0, -1).map((queue) => queue.fd));
    this.changing = false;
    // A device stopping meanwhile closes every queue and socket itself.
    if (summary === null || !this.context.alive()) return;
    sockets.removeLast()?.close();
    queues.pop()!.close();
    this.context.retired(index);
    this.retirement.restart(performance.now());
    if (queues.length <= this.floor) this.stop();
    log(
      `data worker ${index} retired after ${
        this.retirement.idleMs / 1000
      } s idle (it carried ${summary.packetsOut} out, ${summary.packetsIn} in); ${queues.length} running`,
    );
  }

  /** Samples the CPU time for retirement while added workers run. */
  private watchIdle(): void {
    this.retirement.restart(performance.now());
    if (this.timer !== null) return;
    this.retirement.sample(performance.now(), cpuMicros());
    this.timer = setInterval(() => {
      if (this.retirement.sample(performance.now(), cpuMicros())) void this.retire();
    }, retireSampleInterval(this.retirement.idleMs));
  }

  /** Stops sampling (the device stops, or runs one worker). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
