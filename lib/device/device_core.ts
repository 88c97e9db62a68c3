/**
 * The memory a userspace device runs on: one wasm core memory and one set of data-plane tables,
 * laid out for the main thread and every data worker it may ever run, and the init message that
 * hands a worker its share (its core instance, its part of the packet arena, the shared tables).
 */

import { CryptoCore } from "../crypto/crypto_core.ts";
import { loadCoreModule } from "../crypto/core_module.ts";
import { createCoreMemory, type MemoryLayout, planMemoryLayout } from "../crypto/memory_layout.ts";
import type { TunDevice } from "../../ffi/tun.ts";
import { dataPlaneScratchBytes } from "../wireguard/data_plane.ts";
import { type DataPlaneDimensions, DataPlaneState } from "../wireguard/data_plane_state.ts";
import type { DeviceSockets } from "./device_sockets.ts";
import type { RouteEntry, WorkerRequest } from "./device_protocol.ts";
import { NONCE_AREA_BYTES, workerArenaBytes } from "./worker_layout.ts";

/** Keypair records (each two key slots): three per peer plus handshakes in flight. */
const KEYPAIR_RECORDS = 4096;

/** The message that starts a data worker. */
export type WorkerInit = Extract<WorkerRequest, { type: "init" }>;

/** A device's memory: the main thread's core (instance 0) and the tables all threads share. */
export interface DeviceCore {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  layout: MemoryLayout;
  core: CryptoCore;
  state: DataPlaneState;
  dimensions: DataPlaneDimensions;
  mtu: number;
  /** The sockets have UDP GRO on: each worker's arena has room for its 64 KB slots. */
  receiveCoalescing: boolean;
  /** Arena bytes of the main thread's engine; the workers' parts follow, in worker order. */
  mainArena: number;
}

/** Lays out and instantiates the memory for up to `workers` data workers and `maxPeers` peers. */
export async function createDeviceCore(
  workers: number,
  maxPeers: number,
  mtu: number,
  receiveCoalescing: boolean,
): Promise<DeviceCore> {
  const mainArena = NONCE_AREA_BYTES + dataPlaneScratchBytes(mtu);
  const layout = planMemoryLayout({
    instances: workers + 1,
    keySlots: 2 * KEYPAIR_RECORDS,
    stagingBytes: 16384,
    arenaBytes: mainArena + workers * workerArenaBytes(mtu, receiveCoalescing),
  });
  const module = await loadCoreModule();
  const memory = createCoreMemory(layout);
  const core = CryptoCore.instantiate(module, memory, layout, 0);
  const dimensions = { peers: maxPeers, keypairs: KEYPAIR_RECORDS, writers: workers + 1 };
  const state = DataPlaneState.create(dimensions);
  return { module, memory, layout, core, state, dimensions, mtu, receiveCoalescing, mainArena };
}

/** What a worker's init message takes from the running device (read when the worker starts). */
export interface WorkerInitSource {
  control: SharedArrayBuffer;
  /** The TUN queues, one per worker (grown in place as workers are added). */
  queues: readonly TunDevice[];
  sockets: DeviceSockets;
  vnetHeader: boolean;
  tunUdpSegmentation: boolean;
  udpSegmentation: boolean;
  forwardSwim: boolean;
  routes: () => RouteEntry[];
  policy: () => { table: SharedArrayBuffer; flows: SharedArrayBuffer };
}

/**
 * Builds worker i's init message (1-based). The arena and the shared tables are laid out for
 * every worker from the start; a worker's part of the arena stays untouched (not resident)
 * until it runs.
 */
export function workerInitFor(
  device: DeviceCore,
  source: WorkerInitSource,
): (workerIndex: number, wakeFd: number) => WorkerInit {
  const { mtu, receiveCoalescing } = device;
  return (workerIndex, wakeFd) => ({
    type: "init",
    workerIndex,
    module: device.module,
    memory: device.memory,
    layout: device.layout,
    arenaAt: device.layout.arenaBase + device.mainArena +
      (workerIndex - 1) * workerArenaBytes(mtu, receiveCoalescing),
    stateBuffer: device.state.buffer,
    dimensions: device.dimensions,
    control: source.control,
    tunFds: source.queues.map((queue) => queue.fd),
    interfaceName: source.queues[0].name,
    udpFd: source.sockets.all[workerIndex - 1].fd,
    udpPort: source.sockets.all[workerIndex - 1].port,
    mtu,
    vnetHeader: source.vnetHeader,
    tunUdpSegmentation: source.tunUdpSegmentation,
    udpSegmentation: source.udpSegmentation,
    receiveCoalescing,
    timeOrigin: performance.timeOrigin,
    forwardSwim: source.forwardSwim,
    wakeFd,
    routes: source.routes(),
    policy: source.policy(),
  });
}
