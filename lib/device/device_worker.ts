/**
 * A data worker of a userspace WireGuard device: one TUN queue and one SO_REUSEPORT UDP socket,
 * served by a plain loop of blocking FFI calls (poll, read, recvmmsg, sendmmsg). The packet work
 * is `data_path_loop.ts`; this file is its thread shell: the init and control messages, poll and
 * the eventfd that wakes it. Packets are sealed and opened in place in the shared wasm memory
 * against the shared keypair tables, so no packet crosses threads.
 */

/// <reference lib="deno.worker" />

import { CryptoCore } from "../crypto/crypto_core.ts";
import { DataPlaneState } from "../wireguard/data_plane_state.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { UdpSocket } from "../../ffi/udp_socket.ts";
import { POLLIN, PollSet } from "../../ffi/poll.ts";
import { EventFd } from "../../ffi/event_fd.ts";
import type { WorkerReply, WorkerRequest } from "./device_protocol.ts";
import { DataPathLoop } from "./data_path_loop.ts";
import { WORKER_BATCH } from "./worker_layout.ts";
import { WorkerForwarding } from "./worker_forwarding.ts";
import { RelayEndpoints } from "../relay/relay_endpoints.ts";
import { RelaySocket } from "../relay/relay_socket.ts";
import { RelayTable } from "../relay/relay_table.ts";
import { FlowTable } from "../policy/flow_table.ts";
import { PolicyGate } from "../policy/policy_gate.ts";
import { PolicyTable } from "../policy/policy_table.ts";
import { WorkerLoad } from "./worker_load.ts";

/**
 * How long the loop sleeps in poll without a wake-up before it lets the event loop run anyway
 * (a safety net: the main thread signals the wake fd after every message).
 */
const CONTROL_INTERVAL_MS = 1000;

type Init = Extract<WorkerRequest, { type: "init" }>;

interface WorkerState {
  path: DataPathLoop;
  /** The socket the path uses, as the FFI object (its fd is polled). */
  udp: UdpSocket;
  running: boolean;
  now: () => number;
  /** The relay edge around `udp`, once the main thread sent relay state. */
  edge: RelaySocket | null;
  /** Send batches with UDP GSO (offloads on), also on a socket that replaces this one. */
  segmentation: boolean;
  /** UDP GRO on the sockets (64 KB receive slots; a relay edge's frames are walked per segment). */
  coalescing: boolean;
  /**
   * Every TUN queue (the data path writes each packet to its flow's); grows in place when the
   * device adds a worker, so the path and its coalescer see the new queue.
   */
  queues: TunDevice[];
  interfaceName: string;
  workerIndex: number;
  /** Set by `retire`: the loop drains its queue and socket, answers and ends. */
  retiring: boolean;
}

/** Most drain passes a retiring worker makes (bounded: the device is idle when it retires). */
const MAX_DRAIN_PASSES = 256;

let current: WorkerState | null = null;

/**
 * Copies the main thread's relay bindings and table (each worker keeps its own budgets, so the
 * relay's per-sender limits apply per worker) and puts the relay edge on the socket.
 */
function followRelay(worker: WorkerState, message: Extract<WorkerRequest, { type: "relay" }>) {
  if (worker.edge === null) {
    const endpoints = new RelayEndpoints();
    worker.edge = new RelaySocket(worker.udp, endpoints, null, worker.now);
    worker.path.socket = worker.edge;
  }
  const edge = worker.edge;
  edge.endpoints.restore(message.bindings);
  if (message.relay === null) {
    edge.relay = null;
  } else {
    edge.relay ??= new RelayTable(message.relay.limits);
    edge.relay.setMembers(message.relay.members);
    edge.releaseHeld();
  }
}

/** Relay counters last posted (sum of verdict counts) and when. */
let relayPosted = { total: -1, at: -Infinity };
/** Minimum gap between two relay-stats posts (ms). */
const RELAY_STATS_INTERVAL_MS = 1_000;

/** Tells the main thread this worker's relay counters when they changed (for `status`). */
function postRelayStats(worker: WorkerState, workerIndex: number): void {
  const relay = worker.edge?.relay;
  if (relay == null) return;
  let total = 0;
  for (const count of relay.counts) total += count;
  // A held initiation moves no verdict count; its hold counters must reach status too.
  for (const count of relay.holds) total += count;
  const at = performance.now();
  if (total === relayPosted.total || at - relayPosted.at < RELAY_STATS_INTERVAL_MS) return;
  relayPosted = { total, at };
  post({ type: "relay-stats", workerIndex, stats: relay.stats() });
}

function post(reply: WorkerReply): void {
  self.postMessage(reply);
}

function run(init: Init): void {
  const core = CryptoCore.instantiate(init.module, init.memory, init.layout, init.workerIndex);
  const offset = performance.timeOrigin - init.timeOrigin;
  const now = () => performance.now() + offset;
  const queues = init.tunFds.map((fd) => new TunDevice(fd, init.interfaceName));
  const tun = queues[init.workerIndex - 1];
  const udp = UdpSocket.borrow(init.udpFd, init.udpPort, WORKER_BATCH);
  if (init.udpSegmentation) udp.enableSegmentation();
  // The main thread turned GRO on for the fd; this object must ask for the segment sizes.
  if (init.receiveCoalescing) udp.setReceiveCoalescing(true);
  const path = new DataPathLoop({
    core,
    state: DataPlaneState.attach(init.stateBuffer, init.dimensions),
    writer: init.workerIndex,
    mtu: init.mtu,
    vnetHeader: init.vnetHeader,
    tunUdpSegmentation: init.tunUdpSegmentation,
    receiveCoalescing: init.receiveCoalescing,
    arenaAt: init.arenaAt,
    tun,
    queues,
    socket: udp,
    routes: init.routes,
    forwarding: new WorkerForwarding({
      control: new Int32Array(init.control),
      forwardSwim: init.forwardSwim,
    }),
    events: {
      wantHandshake: (peer) => post({ type: "want-handshake", peer }),
      keypairConfirmed: (peer, keypair) => post({ type: "confirmed", peer, keypair }),
    },
    forward: (handshakes, swim) => post({ type: "received", handshakes, swim }),
    policy: new PolicyGate(
      PolicyTable.attach(init.policy.table, init.dimensions.peers),
      FlowTable.attach(init.policy.flows),
    ),
  });
  const worker: WorkerState = {
    path,
    udp,
    running: true,
    now,
    edge: null,
    segmentation: init.udpSegmentation,
    coalescing: init.receiveCoalescing,
    queues,
    interfaceName: init.interfaceName,
    workerIndex: init.workerIndex,
    retiring: false,
  };
  current = worker;
  post({ type: "ready", workerIndex: init.workerIndex });

  const wake = EventFd.fromFd(init.wakeFd);
  let polledSocket = worker.udp;
  let polls = new PollSet([tun.fd, polledSocket.fd, wake.fd]);
  let sinceControl = performance.now();
  let refusalReported = false;
  let usoRefusalReported = false;
  const load = new WorkerLoad();

  const loop = (): void => {
    while (worker.running) {
      if (worker.udp !== polledSocket) {
        polledSocket = worker.udp; // listen_port changed through UAPI
        polls = new PollSet([tun.fd, polledSocket.fd, wake.fd]);
      }
      const before = performance.now();
      polls.wait(Math.max(0, Math.ceil(CONTROL_INTERVAL_MS - (before - sinceControl))));
      const after = performance.now();
      load.waitedFor(after - before);
      if (load.busyAt(after)) post({ type: "busy", workerIndex: init.workerIndex });
      path.pass((polls.revents(0) & POLLIN) !== 0, (polls.revents(1) & POLLIN) !== 0, now());
      if (worker.udp.segmentationRefused !== 0 && !refusalReported) {
        // The probe said yes but a send said no (e.g. EIO: a route without checksum offload).
        refusalReported = true;
        post({
          type: "notice",
          message:
            `worker ${init.workerIndex}: the kernel refused a UDP GSO send (errno ${worker.udp.segmentationRefused}); plain sendmmsg from now on`,
        });
      }
      const uso = path.coalescer?.udp;
      if (uso != null && uso.refusal !== null && !usoRefusalReported) {
        // The TUN offered USO but refused a super-packet: its datagrams went one by one.
        usoRefusalReported = true;
        post({
          type: "notice",
          message:
            `worker ${init.workerIndex}: the TUN refused a UDP super-packet (${uso.refusal}); UDP written datagram by datagram from now on`,
        });
      }
      // The wake fd is read only when poll saw it signalled: no extra syscall when busy.
      const woken = (polls.revents(2) & POLLIN) !== 0 && wake.drain();
      if (woken || performance.now() - sinceControl >= CONTROL_INTERVAL_MS) {
        postRelayStats(worker, init.workerIndex);
        // Let queued control messages run: the loop continues from a macrotask.
        sinceControl = performance.now();
        setTimeout(guarded, 0);
        return;
      }
    }
    if (worker.retiring) {
      // Whatever the kernel queued for this worker before the main thread closes its queue
      // and socket (the kernel then steers to the others).
      for (let pass = 0; pass < MAX_DRAIN_PASSES && polls.wait(0) > 0; pass++) {
        const tunIn = (polls.revents(0) & POLLIN) !== 0;
        const udpIn = (polls.revents(1) & POLLIN) !== 0;
        if (!tunIn && !udpIn) break;
        path.pass(tunIn, udpIn, now());
      }
      post({
        type: "retired",
        workerIndex: init.workerIndex,
        packetsOut: path.packetsOut,
        packetsIn: path.packetsIn,
      });
      return;
    }
    post({
      type: "stopped",
      workerIndex: init.workerIndex,
      packetsOut: path.packetsOut,
      packetsIn: path.packetsIn,
    });
  };

  const guarded = (): void => {
    try {
      loop();
    } catch (error) {
      post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  };
  guarded();
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  try {
    switch (message.type) {
      case "init":
        run(message);
        return;
      case "routes":
        current?.path.setRoutes(message.routes);
        return;
      case "flush":
        current?.path.plane.flushStaged(message.peer, current.now());
        return;
      case "drop":
        current?.path.plane.dropStaged(message.peer);
        return;
      case "relay":
        if (current) followRelay(current, message);
        return;
      case "queues":
      case "retire":
        if (current) {
          // In place: the data path and its coalescers hold this array.
          const queues = current.queues;
          if (message.tunFds.length < queues.length) queues.length = message.tunFds.length;
          for (const fd of message.tunFds.slice(queues.length)) {
            queues.push(new TunDevice(fd, current.interfaceName));
          }
          if (message.type === "retire") {
            current.retiring = true;
            current.running = false;
          } else {
            post({ type: "queues-set", workerIndex: current.workerIndex });
          }
        }
        return;
      case "socket":
        if (current) {
          const old = current.udp.fd;
          current.udp = UdpSocket.borrow(message.fd, message.port, WORKER_BATCH);
          if (current.segmentation) current.udp.enableSegmentation();
          if (current.coalescing) current.udp.setReceiveCoalescing(true);
          const edge = current.edge;
          if (edge !== null) {
            current.edge = new RelaySocket(current.udp, edge.endpoints, edge.relay, current.now);
          }
          current.path.socket = current.edge ?? current.udp;
          post({ type: "socket-switched", fd: old });
        }
        return;
      case "stop":
        if (current) current.running = false;
        else post({ type: "stopped", workerIndex: 0, packetsOut: 0, packetsIn: 0 });
        return;
    }
  } catch (error) {
    post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  }
};
