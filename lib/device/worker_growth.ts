/**
 * Adding a device's data workers under load: a busy worker asks (`worker_load.ts`), and the
 * device opens one more TUN queue and SO_REUSEPORT socket, tells the running workers about the
 * queue, and starts a worker on both, one at a time up to the limit. The kernel steers flows to
 * the new queue and socket at once; they wait there until the worker runs (tens of ms).
 */

import type { TunDevice } from "../../ffi/tun.ts";
import type { DataWorkers } from "./data_workers.ts";
import type { DeviceSockets } from "./device_sockets.ts";
import type { WorkerRequest } from "./device_protocol.ts";
import { openTunQueue } from "./tun_queues.ts";

type Init = Extract<WorkerRequest, { type: "init" }>;

/** What growing needs of the device. */
export interface GrowthContext {
  /** The device's TUN queues, one per worker (grown in place). */
  queues: TunDevice[];
  sockets: DeviceSockets;
  workers: DataWorkers;
  /** Builds worker i's init message (1-based) from the device's current state. */
  initFor: (workerIndex: number, wakeFd: number) => Init;
  /** The relay edge's state for a new worker (null: none). */
  relayMessage: () => WorkerRequest | null;
  /** The queues carry virtio-net headers; the sockets have UDP GRO on. */
  vnetHeader: boolean;
  receiveCoalescing: boolean;
  /** False once the device failed or is stopping. */
  alive: () => boolean;
  log: (message: string) => void;
}

/** One device's worker growth. */
export class WorkerGrowth {
  private growing = false;

  /** Grows `context`'s workers up to `limit`. */
  constructor(private readonly context: GrowthContext, private limit: number) {}

  /** Most workers (lowered to what runs when the kernel refuses a queue or socket). */
  get workerLimit(): number {
    return this.limit;
  }

  /** Adds one worker unless one is being added, the limit is reached or the device is down. */
  async grow(): Promise<void> {
    const { queues, sockets, workers, log } = this.context;
    if (this.growing || queues.length >= this.limit || !this.context.alive()) return;
    this.growing = true;
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
      this.growing = false;
      return;
    }
    const index = queues.length;
    workers.broadcast({ type: "queues", tunFds: queues.map((queue) => queue.fd) });
    const ready = workers.add(this.context.initFor);
    const relay = this.context.relayMessage();
    if (relay !== null) workers.post(index - 1, relay);
    await ready;
    this.growing = false;
    if (this.context.alive()) {
      log(
        `data worker ${index} of ${this.limit} started under load, in ${
          Math.round(performance.now() - started)
        } ms`,
      );
    }
  }
}
