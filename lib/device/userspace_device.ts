/**
 * A userspace WireGuard device, as `meshguard device <ifname>` runs it: creates the TUN
 * interface (up, MTU set through rtnetlink), starts the data-plane worker, serves the `wg`
 * UAPI socket, and on stop removes the socket and the interface.
 */

import { openTun } from "../../ffi/tun.ts";
import { EventFd } from "../../ffi/event_fd.ts";
import { RouteNetlink } from "../../ffi/rtnetlink.ts";
import { MeshguardError } from "../errors.ts";
import type { ForeignDatagram, WorkerReply, WorkerRequest } from "./device_protocol.ts";
import { UapiServer, uapiSocketPath } from "./uapi_server.ts";
import { deviceWorkerUrl } from "./worker_location.ts";

/** How a device is started. */
export interface DeviceOptions {
  interfaceName: string;
  mtu?: number;
  /** UDP port; 0 picks one (wg set … listen-port changes it later). */
  listenPort?: number;
  /** Directory of the UAPI socket (default /var/run/wireguard). */
  socketDirectory?: string;
  /** Called with one-line log messages. */
  log?: (message: string) => void;
  /** Receives the SWIM datagrams that arrive on the device's UDP port (mesh mode). */
  onSwimDatagrams?: (datagrams: ForeignDatagram[]) => void;
  /** Called once if the data-plane worker dies on its own. */
  onFailure?: (message: string) => void;
}

/** Thrown when the device cannot start. */
export class DeviceError extends MeshguardError {}

/** A running device. */
export class UserspaceDevice {
  private nextRequestId = 1;
  private readonly pending = new Map<number, (response: string | null) => void>();
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  private failed: string | null = null;
  private stopping = false;

  private constructor(
    readonly interfaceName: string,
    private readonly worker: Worker,
    private uapi: UapiServer | null,
    readonly listenPort: number,
    private readonly options: DeviceOptions,
    private readonly wake: EventFd,
  ) {
    this.stopped = new Promise((resolve) => this.resolveStopped = resolve);
  }

  /** Creates the interface, the worker and the UAPI socket. */
  static async start(options: DeviceOptions): Promise<UserspaceDevice> {
    const mtu = options.mtu ?? 1420;
    const log = options.log ?? (() => {});
    let tun;
    try {
      tun = openTun({ name: options.interfaceName, nonBlocking: true });
    } catch (error) {
      throw new DeviceError(
        `cannot create interface ${options.interfaceName}: ${(error as Error).message}`,
      );
    }
    const netlink = RouteNetlink.open();
    try {
      netlink.setMtu(tun.name, mtu);
      netlink.setLinkUp(tun.name);
    } finally {
      netlink.close();
    }
    const worker = new Worker(deviceWorkerUrl(), { type: "module" });
    const ready = new Promise<number>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.type === "ready") resolve(reply.listenPort);
        else if (reply.type === "failed") reject(new DeviceError(reply.message));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new DeviceError(`data-plane worker failed: ${event.message}`));
      };
    });
    const wake = EventFd.create();
    const init: WorkerRequest = {
      type: "init",
      tunFd: tun.fd,
      interfaceName: tun.name,
      listenPort: options.listenPort ?? 0,
      mtu,
      forwardSwim: options.onSwimDatagrams !== undefined,
      wakeFd: wake.fd,
    };
    worker.postMessage(init);
    let listenPort: number;
    try {
      listenPort = await ready;
    } catch (error) {
      worker.terminate();
      tun.close();
      wake.close();
      throw error;
    }
    const device = new UserspaceDevice(tun.name, worker, null, listenPort, options, wake);
    worker.onmessage = (event: MessageEvent<WorkerReply>) => device.onReply(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      device.onWorkerDeath(`data-plane worker failed: ${event.message}`);
    };
    try {
      device.uapi = await UapiServer.listen(
        uapiSocketPath(tun.name, options.socketDirectory),
        (request) => device.request(request),
      );
    } catch (error) {
      await device.stop();
      throw new DeviceError(`cannot serve the UAPI socket: ${(error as Error).message}`);
    }
    log(`interface ${tun.name} up (mtu ${mtu}), UDP port ${listenPort}, UAPI ${device.uapi.path}`);
    return device;
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type === "received") {
      this.options.onSwimDatagrams?.(reply.datagrams);
    } else if (reply.type === "uapi") {
      this.pending.get(reply.id)?.(reply.response);
      this.pending.delete(reply.id);
    } else if (reply.type === "stopped") {
      this.resolveStopped();
    } else if (reply.type === "failed") {
      this.onWorkerDeath(`data-plane worker failed: ${reply.message}`);
    }
  }

  /** A dead worker answers nothing: fail what waits on it and tell the owner once. */
  private onWorkerDeath(message: string): void {
    if (this.failed !== null) return;
    this.failed = message;
    for (const resolve of this.pending.values()) resolve(null);
    this.pending.clear();
    this.resolveStopped();
    if (!this.stopping) this.options.onFailure?.(message);
  }

  /** Posts a message and wakes the worker, which may be asleep in poll(). */
  private post(message: WorkerRequest): void {
    this.worker.postMessage(message);
    this.wake.signal();
  }

  /** Sends datagrams (SWIM's) from the device's UDP port. */
  sendDatagrams(datagrams: ForeignDatagram[]): void {
    if (this.failed !== null || datagrams.length === 0) return;
    this.post({ type: "send", datagrams });
  }

  /**
   * Passes one UAPI request to the worker and returns its answer (null when the device has no
   * engine to answer, e.g. its worker died).
   */
  request(request: string): Promise<string | null> {
    if (this.failed !== null) return Promise.resolve(null);
    const id = this.nextRequestId++;
    const message: WorkerRequest = { type: "uapi", id, request };
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.post(message);
    });
  }

  /** Stops the worker, removes the UAPI socket and the interface. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.uapi?.close();
    this.post({ type: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, 2000));
    await Promise.race([this.stopped, timeout]);
    clearTimeout(timer);
    this.worker.terminate();
    this.wake.close();
    // Closing the TUN fd in the worker removes the interface; make sure in case it did not.
    try {
      const netlink = RouteNetlink.open();
      try {
        netlink.deleteLink(this.interfaceName);
      } finally {
        netlink.close();
      }
    } catch {
      // Already gone, as expected.
    }
  }
}
