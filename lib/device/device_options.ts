/**
 * How a userspace device is started (`UserspaceDevice.start`): its options, their limits and
 * defaults, and the error a start that fails throws.
 */

import type { EngineOptions } from "../wireguard/engine_types.ts";
import { MeshguardError } from "../errors.ts";
import type { ForeignDatagram } from "./device_protocol.ts";
import { RETIRE_IDLE_MS } from "./worker_retirement.ts";

/** Peers a device holds by default. */
export const DEFAULT_MAX_PEERS = 1024;
/** Most data workers a device runs. */
export const MAX_WORKERS = 16;

/** How a device is started. */
export interface DeviceOptions {
  interfaceName: string;
  mtu?: number;
  /** UDP port; 0 picks one (wg set … listen-port changes it later). */
  listenPort?: number;
  /**
   * Most data workers (TUN queues and UDP sockets); default: one per CPU, at most 4. Beyond
   * `initialWorkers` they start when the running ones are busy.
   */
  workers?: number;
  /** Data workers started with the device (default 1: an idle device needs no more). */
  initialWorkers?: number;
  /**
   * Idle period (ms) after which a worker added under load retires, one per period, down to
   * `initialWorkers` (default RETIRE_IDLE_MS, 60 s); idle is the process below 10 % of a core.
   */
  retireIdleMs?: number;
  /** Peers the device can hold (default 1024). */
  maxPeers?: number;
  /** Directory of the UAPI socket (default /var/run/wireguard). */
  socketDirectory?: string;
  /** Called with one-line log messages. */
  log?: (message: string) => void;
  /** Called when a WireGuard timer rule fires (the daemon logs it by name at debug level). */
  onTimerRule?: EngineOptions["onTimerRule"];
  /** Receives the SWIM datagrams that arrive on the device's UDP port (mesh mode). */
  onSwimDatagrams?: (datagrams: ForeignDatagram[]) => void;
  /** Called once if a data worker dies on its own. */
  onFailure?: (message: string) => void;
  /** TUN offloads (virtio-net header, TSO/USO super-packets); default on, probed at start. */
  offload?: boolean;
}

/** Thrown when the device cannot start. */
export class DeviceError extends MeshguardError {}

/** The default number of data workers on this machine. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/**
 * The most and the initial data workers `options` ask for, and the retirement's idle period;
 * DeviceError when out of range.
 */
export function workerCounts(
  options: DeviceOptions,
): { count: number; initial: number; retireIdleMs: number } {
  const count = options.workers ?? defaultWorkerCount();
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new DeviceError(`workers must be 1..${MAX_WORKERS}, got ${count}`);
  }
  const initial = options.initialWorkers ?? 1;
  if (!Number.isInteger(initial) || initial < 1 || initial > count) {
    throw new DeviceError(`initialWorkers must be 1..${count} (workers), got ${initial}`);
  }
  const retireIdleMs = options.retireIdleMs ?? RETIRE_IDLE_MS;
  if (!Number.isFinite(retireIdleMs) || retireIdleMs < 1000) {
    throw new DeviceError(`retireIdleMs must be at least 1000 (1 s), got ${retireIdleMs}`);
  }
  return { count, initial, retireIdleMs };
}
