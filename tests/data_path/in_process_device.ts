/**
 * A whole userspace WireGuard device in one thread, on fake I/O and fake time: the real engine
 * (handshakes, timers, UAPI) as the main thread has it, and N real data path loops (each with
 * its own core instance on the shared memory, its TUN queue and its socket of a reuse-port
 * group), wired as `lib/device/userspace_device.ts` wires them. Messages between the "main
 * thread" and the "workers" go through mailboxes emptied once per `step`, as posted messages
 * would. Nothing of the protocol is reimplemented here.
 *
 * Reusable by other in-process tests (e.g. a mesh of whole nodes): `InProcessDevice` has the
 * methods the daemon uses on `UserspaceDevice` (request, sendDatagrams, listenPort, swimDrops,
 * stop), and `DeviceLab` drives several devices on one FakeNetwork.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { loadCoreModule } from "../../lib/crypto/core_module.ts";
import { createCoreMemory, planMemoryLayout } from "../../lib/crypto/memory_layout.ts";
import { DataPathLoop } from "../../lib/device/data_path_loop.ts";
import {
  CONTROL_CELLS,
  CONTROL_HANDSHAKES_IN_FLIGHT,
  type ForeignDatagram,
  type ReceivedDatagram,
} from "../../lib/device/device_protocol.ts";
import {
  type StunServing,
  stunServing,
  type SwimForwardingDrops,
  swimForwardingDrops,
  swimHandled,
  WorkerForwarding,
} from "../../lib/device/worker_forwarding.ts";
import { NONCE_AREA_BYTES, workerArenaBytes } from "../../lib/device/worker_layout.ts";
import { dataPlaneScratchBytes } from "../../lib/wireguard/data_plane.ts";
import { DataPlaneState } from "../../lib/wireguard/data_plane_state.ts";
import { type Endpoint, formatEndpoint, parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { WireguardEngine } from "../../lib/wireguard/engine.ts";
import type { RelayEndpoints } from "../../lib/relay/relay_endpoints.ts";
import { RelaySocket } from "../../lib/relay/relay_socket.ts";
import type { RelayTable, RelayTableStats } from "../../lib/relay/relay_table.ts";
import {
  createNoisePrimitives,
  type NoisePrimitives,
} from "../../lib/wireguard/noise_primitives.ts";
import { handleUapiRequest, UAPI_ERRNO, UapiError } from "../../lib/wireguard/uapi.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { FakeNetwork, type FakeSocket } from "./fake_network.ts";
import { FakeTun } from "./fake_tun.ts";
import { mulberry32, randomBytes } from "../swim/sim/prng.ts";
import { clampX25519Scalar } from "../../lib/identity/wireguard_key.ts";
import type { DevicePolicy } from "../../lib/policy/device_policy.ts";
import { DevicePolicies } from "../../lib/device/device_policies.ts";
import { FlowTable } from "../../lib/policy/flow_table.ts";
import { PolicyGate } from "../../lib/policy/policy_gate.ts";
import { PolicyTable, type RuleDrops } from "../../lib/policy/policy_table.ts";

/** How an in-process device is made. */
export interface InProcessDeviceOptions {
  network: FakeNetwork;
  /** Where its sockets are bound, e.g. `192.0.2.1:51820`. */
  endpoint: string;
  /** Fake time at creation (ms). */
  now: number;
  /** Data path loops ("workers"), TUN queues and sockets (default 2). */
  workers?: number;
  mtu?: number;
  /** Peers the tables hold (default 16). */
  maxPeers?: number;
  /** Keypair records, a power of two (default 64). */
  keypairs?: number;
  /** The static private key; omitted, none until a UAPI `set` gives one. */
  privateKey?: Uint8Array;
  /** Wall-clock ms for TAI64N timestamps (default: fake time). */
  wallClock?: () => number;
  /** Seed of the handshake-retry jitter (default 1). */
  seed?: number;
  /** Wraps the core's primitives (e.g. to draw keys from a seeded PRNG). */
  primitives?: (made: NoisePrimitives) => NoisePrimitives;
  /** Receives the SWIM datagrams that arrive on the port (mesh mode). */
  onSwimDatagrams?: (datagrams: ForeignDatagram[]) => void;
  /** The TUN carries virtio-net headers (offloads on): `tun.sendRead` and headed writes. */
  vnetHeader?: boolean;
  /** The vnet TUN takes USO super-packets: UDP datagrams are coalesced towards it too. */
  tunUdpSegmentation?: boolean;
  /** The sockets coalesce like UDP GRO, the loops receive into 64 KB slots. */
  receiveCoalescing?: boolean;
}

/** What a loop posts to the main thread (the worker replies the device acts on). */
type ToMain =
  | { type: "received"; handshakes: ReceivedDatagram[]; swim: ReceivedDatagram[] }
  | { type: "want-handshake"; peer: number }
  | { type: "confirmed"; peer: number; keypair: number };

/** What the main thread posts to every loop. */
type ToLoops = { type: "flush"; peer: number } | { type: "drop"; peer: number };

/** One device: engine, loops, fake TUN and sockets. */
export class InProcessDevice {
  /** The protocol engine (the main thread's). */
  readonly engine: WireguardEngine;
  /** The interface; the host sends with `tun.send`, reads `tun.written`. */
  readonly tun: FakeTun;
  /** The data path loops, worker i at index i - 1. */
  readonly loops: DataPathLoop[] = [];
  private socketsNow: FakeSocket[];
  private readonly toMain: ToMain[] = [];
  private readonly toLoops: ToLoops[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_CELLS * 4));
  private readonly onSwim: InProcessDeviceOptions["onSwimDatagrams"];
  private fwmarkValue = 0;
  /** The relay edge around the sockets (lib/relay/relay_socket.ts), once `useRelay` was called. */
  private relayEdge: { endpoints: RelayEndpoints; table: RelayTable | null } | null = null;
  private edges: RelaySocket[] = [];
  private clock: number;
  private stopped = false;
  /** The service policy the loops enforce (shared tables, as the real device's workers). */
  policies!: DevicePolicies;
  /** The flows the loops track for replies. */
  readonly flows = FlowTable.create();

  private constructor(
    private readonly network: FakeNetwork,
    private endpointNow: Endpoint,
    engine: (device: InProcessDevice) => WireguardEngine,
    workers: number,
    onSwim: InProcessDeviceOptions["onSwimDatagrams"],
    now: number,
  ) {
    this.clock = now;
    this.onSwim = onSwim;
    this.tun = new FakeTun(workers);
    this.socketsNow = network.bind(endpointNow, workers);
    this.engine = engine(this);
  }

  /** Makes a device bound on `options.endpoint`. */
  static async create(options: InProcessDeviceOptions): Promise<InProcessDevice> {
    const workers = options.workers ?? 2;
    const mtu = options.mtu ?? 1420;
    const keypairs = options.keypairs ?? 64;
    const mainArena = NONCE_AREA_BYTES + dataPlaneScratchBytes(mtu);
    const layout = planMemoryLayout({
      instances: workers + 1,
      keySlots: 2 * keypairs,
      stagingBytes: 16384,
      arenaBytes: mainArena + workers * workerArenaBytes(mtu, options.receiveCoalescing),
    });
    const module = await loadCoreModule();
    const memory = createCoreMemory(layout);
    const core = CryptoCore.instantiate(module, memory, layout, 0);
    const dimensions = { peers: options.maxPeers ?? 16, keypairs, writers: workers + 1 };
    const state = DataPlaneState.create(dimensions);
    const made = createNoisePrimitives(core);
    const primitives = options.primitives?.(made) ?? made;
    const device = new InProcessDevice(
      options.network,
      parseEndpoint(options.endpoint),
      (self) =>
        new WireguardEngine({
          primitives,
          core,
          privateKey: options.privateKey,
          now: options.now,
          wallClock: options.wallClock ?? (() => self.clock),
          random: mulberry32(options.seed ?? 1),
          mtu,
          nonceAddress: layout.arenaBase,
          scratchAddress: layout.arenaBase + NONCE_AREA_BYTES,
          state,
          hooks: {
            sessionChanged: (peer) => self.toLoops.push({ type: "flush", peer }),
            stagedDropped: (peer) => self.toLoops.push({ type: "drop", peer }),
          },
          sink: {
            sendDatagram: (bytes, to) => self.sendFromMain(bytes, to),
          },
        }),
      workers,
      options.onSwimDatagrams,
      options.now,
    );
    device.policies = new DevicePolicies(
      dimensions.peers,
      (key) => device.engine.peer(key)?.id,
    );
    for (const socket of device.socketsNow) socket.coalescing = options.receiveCoalescing ?? false;
    for (let index = 1; index <= workers; index++) {
      device.loops.push(
        new DataPathLoop({
          core: CryptoCore.instantiate(module, memory, layout, index),
          state,
          writer: index,
          mtu,
          vnetHeader: options.vnetHeader,
          tunUdpSegmentation: options.tunUdpSegmentation,
          arenaAt: layout.arenaBase + mainArena +
            (index - 1) * workerArenaBytes(mtu, options.receiveCoalescing),
          receiveCoalescing: options.receiveCoalescing,
          tun: device.tun.queues[index - 1],
          queues: device.tun.queues,
          socket: device.socketsNow[index - 1],
          routes: device.engine.routeEntries(),
          forwarding: new WorkerForwarding({
            control: device.control,
            forwardSwim: options.onSwimDatagrams !== undefined,
          }),
          events: {
            wantHandshake: (peer) => device.toMain.push({ type: "want-handshake", peer }),
            keypairConfirmed: (peer, keypair) =>
              device.toMain.push({ type: "confirmed", peer, keypair }),
          },
          forward: (handshakes, swim) => device.toMain.push({ type: "received", handshakes, swim }),
          policy: new PolicyGate(
            PolicyTable.attach(device.policies.table.buffer, dimensions.peers),
            FlowTable.attach(device.flows.buffer),
          ),
        }),
      );
    }
    return device;
  }

  /** Where the device's sockets are bound. */
  get endpoint(): Endpoint {
    return this.endpointNow;
  }

  /** The UDP port the device listens on. */
  get listenPort(): number {
    return this.endpointNow.port;
  }

  /** A name for messages (the endpoint; there is no kernel interface). */
  get interfaceName(): string {
    return `fake@${formatEndpoint(this.endpointNow)}`;
  }

  /** Number of data path loops. */
  get workerCount(): number {
    return this.loops.length;
  }

  /** The sockets, worker i's at index i - 1. */
  get sockets(): readonly FakeSocket[] {
    return this.socketsNow;
  }

  /** SWIM datagrams the loops dropped before they reached membership, by reason. */
  get swimDrops(): SwimForwardingDrops {
    return swimForwardingDrops(this.control);
  }

  /** What the workers did with STUN requests (answered, rate-limited, malformed). */
  get stunServing(): StunServing {
    return stunServing(this.control);
  }

  /** The time of the last step (ms). */
  get now(): number {
    return this.clock;
  }

  /** True when a step would find work: packets to read, or messages between the threads. */
  get busy(): boolean {
    return this.toMain.length > 0 || this.toLoops.length > 0 ||
      this.tun.queues.some((queue) => queue.readable) ||
      this.socketsNow.some((socket) => socket.readable) || this.engine.queuedHandshakes > 0;
  }

  /**
   * One round at `now`: every loop makes a pass over what poll would call readable, the main
   * thread handles what they posted and runs its timers, then every loop gets what the main
   * thread posted.
   */
  step(now: number): void {
    if (this.stopped) return;
    this.clock = now;
    for (let i = 0; i < this.loops.length; i++) {
      this.loops[i].pass(this.tun.queues[i].readable, this.socketsNow[i].readable, now);
    }
    for (const message of this.toMain.splice(0)) this.onLoopMessage(message, now);
    // The device pumps the handshake queue a slice at a time; here, until it is empty.
    while (this.engine.queuedHandshakes > 0) this.engine.processHandshakes(now);
    this.engine.tick(now);
    for (const message of this.toLoops.splice(0)) {
      for (const loop of this.loops) {
        if (message.type === "flush") loop.plane.flushStaged(message.peer, now);
        else loop.plane.dropStaged(message.peer);
      }
    }
  }

  private onLoopMessage(message: ToMain, now: number): void {
    switch (message.type) {
      case "received":
        if (message.handshakes.length > 0) {
          for (const datagram of message.handshakes) {
            this.engine.receiveDatagram(datagram.data, datagram, now);
          }
          Atomics.sub(this.control, CONTROL_HANDSHAKES_IN_FLIGHT, message.handshakes.length);
        }
        if (message.swim.length > 0) {
          try {
            this.onSwim?.(message.swim.map((datagram) => ({
              address: formatEndpoint(datagram),
              data: datagram.data,
            })));
          } finally {
            swimHandled(this.control, message.swim.length);
          }
        }
        return;
      case "want-handshake":
        this.engine.requestHandshake(message.peer, now);
        return;
      case "confirmed":
        this.engine.confirmKeypair(message.peer, message.keypair, now);
        return;
    }
  }

  /** A new path to the peer with WireGuard key `publicKey` is usable: handshake now (engine). */
  initiateHandshake(publicKey: Uint8Array, now = this.clock): void {
    const peer = this.engine.peer(publicKey);
    if (peer !== undefined && !this.stopped) this.engine.initiateOnFreshPath(peer, now);
  }

  /** Puts the relay edge on every socket (as the real device's workers would). */
  useRelay(endpoints: RelayEndpoints, table: RelayTable | null): void {
    this.relayEdge = { endpoints, table };
    this.wrapSockets();
  }

  /** The relay table's counters (one table shared by the loops here). */
  relayStats(): RelayTableStats[] {
    const table = this.relayEdge?.table;
    return table ? [table.stats()] : [];
  }

  /** The relay edges, worker i's at index i - 1 (empty without `useRelay`). */
  get relaySockets(): readonly RelaySocket[] {
    return this.edges;
  }

  private wrapSockets(): void {
    const edge = this.relayEdge;
    if (edge === null) return;
    this.edges = this.socketsNow.map((socket) =>
      new RelaySocket(socket, edge.endpoints, edge.table, () => this.clock)
    );
    this.loops.forEach((loop, i) => loop.socket = this.edges[i]);
  }

  private sendFromMain(bytes: Uint8Array, to: Endpoint): void {
    try {
      (this.edges[0] ?? this.socketsNow[0]).sendTo(bytes, to.address, to.port, bytes.length, 0);
    } catch {
      // As the device: one unroutable peer must not stop it; the timers retry.
    }
  }

  /** Sends datagrams (SWIM's) from the device's port. */
  sendDatagrams(datagrams: ForeignDatagram[]): void {
    if (this.stopped) return;
    for (const datagram of datagrams) {
      const to = parseEndpoint(datagram.address);
      this.sendFromMain(datagram.data, to);
    }
  }

  /** Answers one UAPI request as the device does; a `set` reaches every loop's routes first. */
  request(request: string): Promise<string | null> {
    return Promise.resolve(this.answer(request));
  }

  /** `request`, synchronously. */
  answer(request: string): string | null {
    if (this.stopped) return null;
    const response = handleUapiRequest({
      engine: this.engine,
      listenPort: () => this.endpointNow.port,
      setListenPort: (port) => this.setListenPort(port),
      fwmark: () => this.fwmarkValue,
      setFwmark: (mark) => this.fwmarkValue = mark,
      now: () => this.clock,
      wallClockAt: (t) => t,
    }, request);
    if (request.startsWith("set=1")) {
      const routes = this.engine.routeEntries();
      for (const loop of this.loops) loop.setRoutes(routes);
      this.policies.peersChanged();
    }
    return response;
  }

  /** Enforces `policy` in every loop from now on, as `UserspaceDevice.setPolicy`. */
  setPolicy(policy: DevicePolicy): void {
    this.policies.set(policy);
  }

  /** Dropped packets per policy rule, the default first. */
  policyDrops(): RuleDrops[] {
    return this.policies.drops();
  }

  /** Rebinds every socket on `port` of the same address (0 is refused: no port picking here). */
  private setListenPort(port: number): void {
    if (port === this.endpointNow.port) return;
    if (port === 0) throw new UapiError(UAPI_ERRNO.EINVAL, "the fake device needs a fixed port");
    const endpoint = { address: this.endpointNow.address, port };
    const sockets = this.network.bind(endpoint, this.loops.length);
    for (const socket of this.socketsNow) socket.close();
    this.socketsNow = sockets;
    this.endpointNow = endpoint;
    this.loops.forEach((loop, i) => loop.socket = sockets[i]);
    this.wrapSockets();
  }

  /** Unbinds the sockets; later steps do nothing. */
  stop(): Promise<void> {
    this.stopped = true;
    for (const socket of this.socketsNow) socket.close();
    return Promise.resolve();
  }
}

/** `made` with every random draw (keys, ephemerals, cookie secrets) taken from `random`. */
export function seededPrimitives(made: NoisePrimitives, random: () => number): NoisePrimitives {
  return {
    ...made,
    generatePrivateKey: () => clampX25519Scalar(randomBytes(random, 32)),
    randomBytes: (length) => randomBytes(random, length),
  };
}

/** Several devices on one fake network under one fake clock, reproducible from a seed. */
export class DeviceLab {
  readonly network = new FakeNetwork();
  readonly devices: InProcessDevice[] = [];
  now = 1_000_000;

  constructor(private readonly seed = 1) {}

  /** Adds a device (network and time are the lab's; keys drawn from the lab's seed). */
  async add(
    endpoint: string,
    options: Partial<Omit<InProcessDeviceOptions, "network" | "endpoint" | "now">> = {},
  ): Promise<InProcessDevice> {
    const random = mulberry32(this.seed * 7919 + this.devices.length);
    const device = await InProcessDevice.create({
      privateKey: clampX25519Scalar(randomBytes(random, 32)),
      primitives: (made) => seededPrimitives(made, random),
      seed: this.seed + this.devices.length,
      ...options,
      network: this.network,
      endpoint,
      now: this.now,
    });
    this.devices.push(device);
    return device;
  }

  /**
   * Makes `a` and `b` peers through UAPI: each knows the other's key and endpoint, and routes
   * the other's addresses (e.g. `10.99.0.2/32`) to it.
   */
  pair(a: InProcessDevice, b: InProcessDevice, aAddresses: string[], bAddresses: string[]): void {
    const set = (self: InProcessDevice, other: InProcessDevice, routes: string[]) => {
      const answer = self.answer(
        `set=1\npublic_key=${encodeHex(other.engine.publicKey)}\nendpoint=${
          formatEndpoint(other.endpoint)
        }\n${routes.map((route) => `allowed_ip=${route}\n`).join("")}\n`,
      );
      if (answer !== "errno=0\n\n") throw new Error(`UAPI set failed: ${answer}`);
    };
    set(a, b, bAddresses);
    set(b, a, aAddresses);
  }

  /**
   * Steps every device and delivers the wire at the current time until nothing moves (bounded:
   * a ping-pong that never ends is a bug the test should see).
   */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const device of this.devices) device.step(this.now);
      const moved = this.network.deliver();
      if (moved === 0 && !this.devices.some((device) => device.busy)) return;
    }
    throw new Error(`the lab did not settle within ${maxRounds} rounds`);
  }

  /** Advances fake time by `milliseconds` in steps of `stepMs`, settling after each. */
  advance(milliseconds: number, stepMs = 100): void {
    const until = this.now + milliseconds;
    while (this.now < until) {
      this.now = Math.min(until, this.now + stepMs);
      this.settle();
    }
  }
}
