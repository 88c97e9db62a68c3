/**
 * An in-process WireGuard device for the mesh simulation: the real engine (handshakes, timers,
 * its own data plane) on one thread, a fake TUN (packets in by `writeTun`, out in `tunOut`) and
 * the router as its UDP port. Datagrams on the port are split as the device's workers split
 * them: WireGuard's messages to the engine, plausible SWIM datagrams to membership.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import type { ForeignDatagram } from "../../lib/device/device_protocol.ts";
import { plausibleSwimDatagram } from "../../lib/device/swim_precheck.ts";
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
import { WireguardEngine } from "../../lib/wireguard/engine.ts";
import { createNoisePrimitives } from "../../lib/wireguard/noise_primitives.ts";
import type { Address, Nat, SimRouter } from "./router.ts";

/** As the real device: activity-derived timers are looked at this often while peers exist. */
const ACTIVITY_POLL_MS = 500;
/** Fake wall clock = fake monotonic time + this (handshake times look like real dates). */
export const WALL_CLOCK_OFFSET = 1_760_000_000_000;

/** How an in-process device is made. */
export interface EngineDeviceOptions {
  router: SimRouter;
  /** Its UDP address (private when behind `nat`). */
  address: Address;
  nat: Nat | null;
  /** Membership's datagrams. */
  onSwimDatagrams: (datagrams: ForeignDatagram[], now: number) => void;
  /** Seeded jitter for the engine's timers. */
  random: () => number;
}

/** A WireGuard device in process. */
export class EngineDevice implements MeshDevice {
  readonly engine: WireguardEngine;
  /** Packets the device wrote to its TUN (decrypted, from peers). */
  readonly tunOut: Uint8Array[] = [];
  /** WireGuard datagrams received, and other datagrams dropped (neither WireGuard nor SWIM). */
  readonly counts = { wireguard: 0, swim: 0, dropped: 0 };
  #lastPoll = -Infinity;
  #stopped = false;
  readonly #options: EngineDeviceOptions;

  private constructor(core: CryptoCore, options: EngineDeviceOptions) {
    this.#options = options;
    const router = options.router;
    this.engine = new WireguardEngine({
      primitives: createNoisePrimitives(core),
      core,
      now: router.now,
      wallClock: () => router.now + WALL_CLOCK_OFFSET,
      random: options.random,
      maxPeers: 64,
      sink: {
        sendDatagram: (bytes, to) => {
          if (!this.#stopped) router.send(options.address, formatEndpoint(to), bytes, options.nat);
        },
        deliverPacket: (packet) => this.tunOut.push(packet.slice()),
      },
    });
    router.attach(
      options.address,
      (from, data, now) => this.#receive(from, data, now),
      options.nat,
    );
  }

  /** Makes a device and attaches it to the router. */
  static async create(options: EngineDeviceOptions): Promise<EngineDevice> {
    const core = await CryptoCore.create({ instances: 1, keySlots: 512 });
    return new EngineDevice(core, options);
  }

  #receive(from: Address, data: Uint8Array, now: number): void {
    if (this.#stopped) return;
    const wireguard = data.length >= 4 && data[0] >= 1 && data[0] <= 4 &&
      data[1] === 0 && data[2] === 0 && data[3] === 0;
    if (wireguard) {
      this.counts.wireguard++;
      this.engine.receiveDatagram(data, parseEndpoint(from), now);
      this.engine.processHandshakes(now);
    } else if (plausibleSwimDatagram(data)) {
      this.counts.swim++;
      this.#options.onSwimDatagrams([{ address: from, data }], now);
    } else {
      this.counts.dropped++;
    }
  }

  #configurable(): ConfigurableDevice {
    const router = this.#options.router;
    return {
      engine: this.engine,
      listenPort: () => Number(this.#options.address.split(":").pop()),
      setListenPort: () => {},
      fwmark: () => 0,
      setFwmark: () => {},
      now: () => router.now,
      wallClockAt: (t) => t + WALL_CLOCK_OFFSET,
    };
  }

  /** Applies typed changes (as `UserspaceDevice.configure`). */
  configure(config: DeviceConfig): DeviceConfigResult {
    return applyDeviceConfig(this.#configurable(), config);
  }

  /** Sends membership's datagrams from the port. */
  sendDatagrams(datagrams: ForeignDatagram[]): void {
    if (this.#stopped) return;
    for (const datagram of datagrams) {
      this.#options.router.send(
        this.#options.address,
        datagram.address,
        datagram.data,
        this.#options.nat,
      );
    }
  }

  /** The configured peers. */
  devicePeers(): DevicePeer[] {
    return describeDevicePeers(this.#configurable());
  }

  /** An inner packet read from the TUN: sealed for the peer that owns its destination. */
  writeTun(packet: Uint8Array): void {
    this.engine.sendPacket(packet.slice(), this.#options.router.now);
  }

  /** When the engine has timer work (its own deadlines, and the activity poll). */
  nextDeadline(): number {
    if (this.#stopped) return Infinity;
    let at = this.engine.nextDeadline() ?? Infinity;
    if (this.engine.peerCount > 0) at = Math.min(at, this.#lastPoll + ACTIVITY_POLL_MS);
    return at;
  }

  /** Runs the engine's due timers. */
  tick(now: number): void {
    if (this.#stopped) return;
    this.#lastPoll = now;
    this.engine.tick(now);
  }

  /** Detaches from the router; nothing more is sent or received. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#options.router.detach(this.#options.address, this.#options.nat);
    return Promise.resolve();
  }
}
