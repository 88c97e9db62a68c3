/**
 * The mesh simulation's WireGuard device: the data path suite's `InProcessDevice` (the real
 * engine and N real data path loops on a fake TUN and fake sockets, one thread, fake time)
 * attached to the simulation's router, seen through the node's narrow `MeshDevice`. Its
 * sockets' network is private to it: what they send goes to the router, what the router
 * delivers lands in the socket the reuse-port group would pick.
 */

import type { ForeignDatagram } from "../../lib/device/device_protocol.ts";
import type { MeshDevice } from "../../lib/daemon/mesh_node.ts";
import {
  applyDeviceConfig,
  type ConfigurableDevice,
  describeDevicePeers,
  type DeviceConfig,
  type DeviceConfigResult,
  type DevicePeer,
} from "../../lib/wireguard/device_config.ts";
import { formatEndpoint, parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import type { WireguardEngine } from "../../lib/wireguard/engine.ts";
import type { RelayEndpoints } from "../../lib/relay/relay_endpoints.ts";
import type { RelayTable, RelayTableStats } from "../../lib/relay/relay_table.ts";
import { FakeNetwork, type WireDatagram } from "../data_path/fake_network.ts";
import { InProcessDevice, seededPrimitives } from "../data_path/in_process_device.ts";
import type { Address, Nat, SimRouter } from "./router.ts";

/** As the real device: activity-derived timers are looked at this often while peers exist. */
const ACTIVITY_POLL_MS = 500;
/** Fake wall clock = fake monotonic time + this (handshake times look like real dates). */
export const WALL_CLOCK_OFFSET = 1_760_000_000_000;
/** Most steps one `settle` takes (a ping-pong that never ends is a bug a test should see). */
const MAX_SETTLE_STEPS = 1_000;

/** How a simulated device is made. */
export interface SimDeviceOptions {
  router: SimRouter;
  /** Its UDP address (private when behind `nat`). */
  address: Address;
  nat: Nat | null;
  /** Membership's datagrams (what the loops forward after their SWIM precheck). */
  onSwimDatagrams: (datagrams: ForeignDatagram[], now: number) => void;
  /** Seeds the device's keys, ephemerals and timer jitter. */
  random: () => number;
  /** Data path loops ("workers"); default 2. */
  workers?: number;
}

/** A whole WireGuard device in process, on the router. */
export class SimDevice implements MeshDevice {
  readonly device: InProcessDevice;
  readonly #options: SimDeviceOptions;
  #lastPoll = -Infinity;
  #stopped = false;

  private constructor(device: InProcessDevice, network: FakeNetwork, options: SimDeviceOptions) {
    this.device = device;
    this.#options = options;
    const { router, address, nat } = options;
    const arrive = FakeNetwork.prototype.send.bind(network);
    // Out: the sockets' sends go to the router.
    network.send = (datagram: WireDatagram) => {
      if (!this.#stopped) router.send(address, formatEndpoint(datagram.to), datagram.bytes, nat);
    };
    // In: into the socket of the reuse-port group, then the device handles it.
    router.attach(address, (from, data, now) => {
      if (this.#stopped) return;
      arrive({ bytes: data, from: parseEndpoint(from), to: parseEndpoint(address) });
      network.deliver();
      this.settle(now);
    }, nat);
  }

  /** Makes a device and attaches it to the router. */
  static async create(options: SimDeviceOptions): Promise<SimDevice> {
    const network = new FakeNetwork();
    const random = options.random;
    let self: SimDevice | null = null;
    const device = await InProcessDevice.create({
      network,
      endpoint: options.address,
      now: options.router.now,
      workers: options.workers ?? 2,
      maxPeers: 64,
      keypairs: 256,
      wallClock: () => options.router.now + WALL_CLOCK_OFFSET,
      seed: Math.floor(random() * 0x7fffffff),
      primitives: (made) => seededPrimitives(made, random),
      onSwimDatagrams: (datagrams) => options.onSwimDatagrams(datagrams, self!.device.now),
    });
    self = new SimDevice(device, network, options);
    return self;
  }

  /** The protocol engine. */
  get engine(): WireguardEngine {
    return this.device.engine;
  }

  /** Packets the device wrote to its TUN (decrypted, from peers), oldest first. */
  get tunOut(): Uint8Array[] {
    return this.device.tun.packets();
  }

  /** Steps the device at `now` until nothing moves inside it. */
  settle(now: number): void {
    for (let step = 0; step < MAX_SETTLE_STEPS; step++) {
      this.device.step(now);
      if (!this.device.busy) return;
    }
    throw new Error(`device ${this.#options.address} did not settle`);
  }

  #configurable(): ConfigurableDevice {
    const router = this.#options.router;
    return {
      engine: this.device.engine,
      listenPort: () => this.device.listenPort,
      setListenPort: () => {
        throw new Error("the simulated device keeps its port");
      },
      fwmark: () => 0,
      setFwmark: () => {},
      now: () => router.now,
      wallClockAt: (t) => t + WALL_CLOCK_OFFSET,
    };
  }

  /** Applies typed changes; routes reach every loop (as `UserspaceDevice.configure`). */
  configure(config: DeviceConfig): DeviceConfigResult {
    try {
      return applyDeviceConfig(this.#configurable(), config);
    } finally {
      const routes = this.device.engine.routeEntries();
      for (const loop of this.device.loops) loop.setRoutes(routes);
    }
  }

  /**
   * A new path to a peer is usable: handshake now (MeshDevice.initiateHandshake). The initiation
   * goes onto the router at once; no settle here (it is called from inside the node's own step).
   */
  initiateHandshake(publicKey: Uint8Array): void {
    if (!this.#stopped) this.device.initiateHandshake(publicKey, this.#options.router.now);
  }

  /** Puts the relay edge on the device's sockets (MeshDevice.useRelay). */
  useRelay(endpoints: RelayEndpoints, table: RelayTable | null): void {
    this.device.useRelay(endpoints, table);
  }

  /** The relay's counters (MeshDevice.relayStats). */
  relayStats(): RelayTableStats[] {
    return this.device.relayStats();
  }

  /** Sends membership's datagrams from the port. */
  sendDatagrams(datagrams: ForeignDatagram[]): void {
    if (!this.#stopped) this.device.sendDatagrams(datagrams);
  }

  /** The configured peers. */
  devicePeers(): DevicePeer[] {
    return describeDevicePeers(this.#configurable());
  }

  /** An inner packet the host's stack writes into the TUN; the loops seal it at once. */
  writeTun(packet: Uint8Array): void {
    this.device.tun.send(packet);
    this.settle(this.#options.router.now);
  }

  /** When the engine has timer work (its own deadlines, and the activity poll). */
  nextDeadline(): number {
    if (this.#stopped) return Infinity;
    let at = this.device.engine.nextDeadline() ?? Infinity;
    if (this.device.engine.peerCount > 0) at = Math.min(at, this.#lastPoll + ACTIVITY_POLL_MS);
    return at;
  }

  /** Runs the device's due timers (a step runs the engine's `tick`). */
  tick(now: number): void {
    if (this.#stopped) return;
    this.#lastPoll = now;
    this.settle(now);
  }

  /** Detaches from the router; nothing more is sent or received. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#options.router.detach(this.#options.address, this.#options.nat);
    await this.device.stop();
  }
}
