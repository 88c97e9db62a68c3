/**
 * A userspace WireGuard device, as `meshguard device <ifname>` runs it. The main thread owns
 * the protocol engine (handshakes, timers, cookies, UAPI); N data workers each serve one
 * queue of a multi-queue TUN interface and one SO_REUSEPORT UDP socket on the listen port,
 * sealing and opening packets in the shared wasm memory against the engine's shared tables.
 * Configuration and handshake messages cross threads; packets never do.
 */

import type { RelayEndpoints } from "../relay/relay_endpoints.ts";
import { DeviceRelay } from "./device_relay.ts";
import type { RelayTable, RelayTableStats } from "../relay/relay_table.ts";
import type { TunDevice } from "../../ffi/tun.ts";
import { takesUso, type TunQueues } from "./tun_queues.ts";
import { IdleRelease } from "./idle_release.ts";
import { WorkerGrowth } from "./worker_growth.ts";
import type { UdpSocket } from "../../ffi/udp_socket.ts";
import { DeviceSockets, enableUdpOffloads, openSockets } from "./device_sockets.ts";
import {
  DEFAULT_MAX_PEERS,
  DeviceError,
  type DeviceOptions,
  workerCounts,
} from "./device_options.ts";

export {
  defaultWorkerCount,
  DeviceError,
  type DeviceOptions,
  MAX_WORKERS,
} from "./device_options.ts";
import { bringUp, createInterface, removeInterface } from "./device_interface.ts";
import { createDeviceCore, type DeviceCore, workerInitFor } from "./device_core.ts";
import { EngineClock } from "./engine_clock.ts";
import { type Endpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import { WireguardEngine } from "../wireguard/engine.ts";
import { createNoisePrimitives } from "../wireguard/noise_primitives.ts";
import { handleUapiRequest } from "../wireguard/uapi.ts";
import {
  applyDeviceConfig,
  type ConfigurableDevice,
  describeDevicePeers,
  type DeviceConfig,
  DeviceConfigError,
  type DeviceConfigResult,
  type DevicePeer,
} from "../wireguard/device_config.ts";
import { DataWorkers, describeWorkerSummaries } from "./data_workers.ts";
import { CONTROL_CELLS, type ForeignDatagram } from "./device_protocol.ts";
import { handleWorkerReply, type ReplyTargets } from "./worker_replies.ts";
import { NONCE_AREA_BYTES } from "./worker_layout.ts";
import { UapiServer, uapiSocketPath } from "./uapi_server.ts";
import type { DevicePolicy } from "../policy/device_policy.ts";
import { DevicePolicies } from "./device_policies.ts";
import { FlowTable } from "../policy/flow_table.ts";
import type { RuleDrops } from "../policy/policy_table.ts";
import {
  type StunServing,
  stunServing,
  type SwimForwardingDrops,
  swimForwardingDrops,
} from "./worker_forwarding.ts";

/** A running device. */
export class UserspaceDevice {
  private readonly sockets: DeviceSockets;
  private workers: DataWorkers | null = null;
  private uapi: UapiServer | null = null;
  /** Hands memory back when the device goes quiet (set once it runs). */
  private idleRelease: IdleRelease | null = null;
  /** Adds workers under load (set once the first ones run). */
  private growth: WorkerGrowth | null = null;
  private failed: string | null = null;
  private stopping = false;
  private readonly control = new Int32Array(
    new SharedArrayBuffer(CONTROL_CELLS * Int32Array.BYTES_PER_ELEMENT),
  );
  private readonly engine: WireguardEngine;
  /** The engine's timers and handshake queue on this thread. */
  private readonly clock: EngineClock;
  private readonly origin = Date.now() - performance.now();
  /** The relay edge the mesh node keeps (lib/relay/), copied to the workers on change. */
  private readonly relay = new DeviceRelay();
  /** The service policy the workers enforce, and the flows they track (shared memory). */
  private readonly policies: DevicePolicies;
  private readonly flows = FlowTable.create();

  private constructor(
    private readonly queues: TunDevice[],
    sockets: UdpSocket[],
    memory: DeviceCore,
    private readonly options: DeviceOptions,
  ) {
    this.sockets = new DeviceSockets(sockets);
    const { core, state } = memory;
    this.policies = new DevicePolicies(state.dimensions.peers, (key) => this.engine.peer(key)?.id);
    const arena = core.layout.arenaBase;
    this.engine = new WireguardEngine({
      primitives: createNoisePrimitives(core),
      core,
      now: performance.now(),
      mtu: memory.mtu,
      nonceAddress: arena,
      scratchAddress: arena + NONCE_AREA_BYTES,
      state,
      onTimerRule: options.onTimerRule,
      hooks: {
        sessionChanged: (peer) => this.workers?.broadcast({ type: "flush", peer }),
        stagedDropped: (peer) => this.workers?.broadcast({ type: "drop", peer }),
      },
      sink: {
        sendDatagram: (bytes, to) => {
          try {
            (this.relay.edge ?? this.sockets.primary).sendTo(
              bytes,
              to.address,
              to.port,
              bytes.length,
              0,
            );
          } catch {
            // One unroutable peer must not stop the device; the timers retry.
          }
        },
      },
    });
    this.clock = new EngineClock(this.engine, () => this.failed === null && !this.stopping);
  }

  /** The interface name. */
  get interfaceName(): string {
    return this.queues[0].name;
  }

  /** The UDP port the device listens on. */
  get listenPort(): number {
    return this.sockets.primary.port;
  }

  /** SWIM datagrams the workers dropped before they reached membership, by reason. */
  get swimDrops(): SwimForwardingDrops {
    return swimForwardingDrops(this.control);
  }

  /** What the workers did with STUN requests (answered, rate-limited, malformed). */
  get stunServing(): StunServing {
    return stunServing(this.control);
  }

  /** Number of data workers running (or starting) now. */
  get workerCount(): number {
    return this.queues.length;
  }

  /** Most data workers the device starts (the others start when the first ones are busy). */
  get workerLimit(): number {
    return this.growth?.workerLimit ?? this.queues.length;
  }

  /** Creates the interface, the workers and the UAPI socket. */
  static async start(options: DeviceOptions): Promise<UserspaceDevice> {
    const mtu = options.mtu ?? 1420;
    const { count, initial, retireIdleMs } = workerCounts(options);
    const maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS;
    const tun: TunQueues = createInterface(options.interfaceName, initial, options.offload ?? true);
    const queues: TunDevice[] = tun.queues;
    let sockets: UdpSocket[] = [];
    let device: UserspaceDevice | null = null;
    let udpNote = "";
    try {
      bringUp(queues[0].name, mtu);
      try {
        sockets = openSockets(initial, options.listenPort ?? 0, 0);
      } catch (error) {
        throw new DeviceError(`cannot open the UDP port: ${(error as Error).message}`);
      }
      const { udpSegmentation, receiveCoalescing, note } = enableUdpOffloads(
        sockets,
        options.offload ?? true,
        tun.vnetHeader,
      );
      udpNote = note;
      const memory = await createDeviceCore(count, maxPeers, mtu, receiveCoalescing);
      device = new UserspaceDevice(queues, sockets, memory, options);
      const self = device;
      const replyTargets: ReplyTargets = {
        engine: self.engine,
        clock: self.clock,
        control: self.control,
        relay: self.relay,
        sockets: self.sockets,
        growth: () => self.growth,
        options,
      };
      const initFor = workerInitFor(memory, {
        control: self.control.buffer as SharedArrayBuffer,
        queues: self.queues,
        sockets: self.sockets,
        vnetHeader: tun.vnetHeader,
        tunUdpSegmentation: takesUso(tun.offloadFlags),
        udpSegmentation,
        forwardSwim: options.onSwimDatagrams !== undefined,
        routes: () => self.engine.routeEntries(),
        policy: () => ({ table: self.policies.table.buffer, flows: self.flows.buffer }),
      });
      device.workers = await DataWorkers.start(
        initial,
        initFor,
        (reply) => handleWorkerReply(reply, replyTargets),
        (message) => self.onWorkerDeath(message),
      );
      device.growth = new WorkerGrowth(
        {
          queues: device.queues,
          sockets: device.sockets,
          workers: device.workers,
          initFor,
          relayMessage: () => self.relay.message(),
          retired: (workerIndex) => self.relay.retired(workerIndex),
          vnetHeader: tun.vnetHeader,
          receiveCoalescing,
          alive: () => self.failed === null && !self.stopping,
          log: options.log ?? (() => {}),
        },
        count,
        retireIdleMs,
        initial,
      );
      device.uapi = await UapiServer.listen(
        uapiSocketPath(queues[0].name, options.socketDirectory),
        (request) => self.request(request),
      ).catch((error) => {
        throw new DeviceError(`cannot serve the UAPI socket: ${(error as Error).message}`);
      });
    } catch (error) {
      if (device) await device.stop();
      else {
        for (const socket of sockets) socket.close();
        for (const queue of queues) queue.close();
      }
      if (error instanceof DeviceError) throw error;
      throw new DeviceError(`cannot start the device: ${(error as Error).message}`);
    }
    (options.log ?? (() => {}))(
      `interface ${device.interfaceName} up (mtu ${mtu}), UDP port ${device.listenPort}, ${initial} data worker${
        initial === 1 ? "" : "s"
      }${
        count > initial ? ` (up to ${count} under load)` : ""
      }, UAPI ${device.uapi.path}; ${tun.note}; ${udpNote}`,
    );
    device.clock.schedule();
    device.idleRelease = new IdleRelease(options.log ?? (() => {}));
    return device;
  }

  /** A dead worker: the device cannot carry packets any more; tell the owner once. */
  private onWorkerDeath(message: string): void {
    if (this.failed !== null) return;
    this.failed = message;
    this.clock.stop();
    this.growth?.stop();
    if (!this.stopping) this.options.onFailure?.(message);
  }

  /** Puts the relay edge on the sockets: the main thread's now, the workers' on `relayUpdated`. */
  useRelay(endpoints: RelayEndpoints, table: RelayTable | null): void {
    this.relay.use(endpoints, table, this.sockets.primary);
    this.relayUpdated();
  }

  /** Each data thread's relay counters and pairs, as last posted (empty: relays nothing). */
  relayStats(): RelayTableStats[] {
    return this.relay.stats();
  }

  /** Copies the relay bindings and table to every worker. */
  relayUpdated(): void {
    const message = this.relay.message();
    if (message !== null) this.workers?.broadcast(message);
  }

  /**
   * A new path to the peer with WireGuard key `publicKey` is usable: the engine (on this thread,
   * where handshakes run) initiates now unless a session is current or it just did.
   */
  initiateHandshake(publicKey: Uint8Array): void {
    if (this.failed !== null || this.stopping) return;
    const peer = this.engine.peer(publicKey);
    if (peer !== undefined && this.engine.initiateOnFreshPath(peer, performance.now())) {
      this.clock.schedule();
    }
  }

  /** Sends datagrams (SWIM's) from the device's UDP port. */
  sendDatagrams(datagrams: ForeignDatagram[]): void {
    if (this.failed !== null) return;
    for (const datagram of datagrams) {
      try {
        const to: Endpoint = parseEndpoint(datagram.address);
        this.sockets.primary.sendTo(datagram.data, to.address, to.port, datagram.data.length, 0);
      } catch {
        // An unreachable member is the membership protocol's business (it probes and suspects).
      }
    }
  }

  /**
   * Answers one UAPI request (null when the device has failed). A `set` that changes routes
   * reaches every worker before the answer is sent.
   */
  request(request: string): Promise<string | null> {
    return Promise.resolve(this.answer(request));
  }

  private answer(request: string): string | null {
    if (this.failed !== null) return null;
    const response = handleUapiRequest(this.configurable, request);
    if (request.startsWith("set=1")) {
      this.publishRoutes();
      this.idleRelease?.arm();
    }
    return response;
  }

  /**
   * Applies a typed configuration (what the mesh daemon's peer changes are); routes reach every
   * worker before this returns. Throws DeviceConfigError, "device-failed" once a worker died.
   */
  configure(config: DeviceConfig): DeviceConfigResult {
    if (this.failed !== null) {
      throw new DeviceConfigError("device-failed", `the data path failed: ${this.failed}`);
    }
    try {
      return applyDeviceConfig(this.configurable, config);
    } finally {
      this.publishRoutes();
      this.idleRelease?.arm();
    }
  }

  /** Every configured peer (endpoint, handshake, counters, allowed IPs); empty once failed. */
  devicePeers(): DevicePeer[] {
    return this.failed === null ? describeDevicePeers(this.configurable) : [];
  }

  private publishRoutes(): void {
    this.workers?.broadcast({ type: "routes", routes: this.engine.routeEntries() });
    // Peer ids come and go with the peers: the policy rows follow them.
    this.policies.peersChanged();
    this.clock.schedule();
  }

  /**
   * Enforces `policy` on inbound decrypted packets from now on (the workers read it from shared
   * memory: no message, no restart); kept in step with the peers as they change.
   */
  setPolicy(policy: DevicePolicy): void {
    this.policies.set(policy);
  }

  /** Dropped packets per policy rule (the default first), since each rule was loaded. */
  policyDrops(): RuleDrops[] {
    return this.policies.drops();
  }

  /** The device as configuration and UAPI see it. */
  private get configurable(): ConfigurableDevice {
    return {
      engine: this.engine,
      listenPort: () => this.sockets.primary.port,
      setListenPort: (port) => this.setListenPort(port),
      fwmark: () => this.sockets.fwmark,
      setFwmark: (mark) => this.sockets.setFwmark(mark),
      now: () => performance.now(),
      wallClockAt: (t) => Math.round(this.origin + t),
    };
  }

  private setListenPort(port: number): void {
    let sockets: UdpSocket[] | null;
    try {
      sockets = this.sockets.rebind(port);
    } catch (error) {
      throw new DeviceConfigError("address-in-use", (error as Error).message);
    }
    if (sockets === null) return;
    this.relay.rebound(sockets[0]);
    for (let i = 0; i < sockets.length; i++) {
      this.workers?.post(i, { type: "socket", fd: sockets[i].fd, port: sockets[i].port });
    }
  }

  /** Stops the workers, removes the UAPI socket and the interface. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clock.stop();
    this.idleRelease?.stop();
    this.growth?.stop();
    await this.uapi?.close();
    const summaries = await this.workers?.stop(2000) ?? [];
    if (summaries.length > 0) {
      (this.options.log ?? (() => {}))(
        describeWorkerSummaries(
          summaries,
          this.options.onSwimDatagrams === undefined ? null : this.swimDrops,
        ),
      );
    }
    this.sockets.close();
    // Closing the last queue removes the interface; make sure in case it did not.
    for (const queue of this.queues) queue.close();
    removeInterface(this.queues[0].name);
  }
}
