/**
 * A data worker of a userspace WireGuard device: one TUN queue and one SO_REUSEPORT UDP socket,
 * served by a plain loop of blocking FFI calls (poll, read, recvmmsg, sendmmsg). Packets are
 * sealed and opened in place in the shared wasm memory against the shared keypair tables, so
 * no packet crosses threads. Handshake messages (and SWIM's, in mesh mode) go to the main
 * thread, which owns handshakes, timers and the UAPI.
 */

/// <reference lib="deno.worker" />

import { CryptoCore } from "../crypto/crypto_core.ts";
import { AllowedIps } from "../wireguard/allowed_ips.ts";
import { DataPlane, dataPlaneScratchBytes } from "../wireguard/data_plane.ts";
import { DataPlaneState, NONE } from "../wireguard/data_plane_state.ts";
import type { Endpoint } from "../wireguard/endpoint.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { datagramSlots, UdpSocket } from "../../ffi/udp_socket.ts";
import { POLLIN, PollSet } from "../../ffi/poll.ts";
import { EventFd } from "../../ffi/event_fd.ts";
import { isIpv4Mapped } from "../../ffi/socket_address.ts";
import type {
  ReceivedDatagram,
  RouteEntry,
  WorkerReply,
  WorkerRequest,
} from "./device_protocol.ts";
import { slotBytesFor, WORKER_BATCH } from "./worker_layout.ts";
import { flowQueue } from "./flow_queue.ts";
import { FORWARD_HANDSHAKE, FORWARD_SWIM, WorkerForwarding } from "./worker_forwarding.ts";

/**
 * How long the loop sleeps in poll without a wake-up before it lets the event loop run anyway
 * (a safety net: the main thread signals the wake fd after every message).
 */
const CONTROL_INTERVAL_MS = 1000;
/**
 * Consecutive failed TUN or UDP calls after which the worker gives up. One failure is not fatal:
 * a queued ICMP error or a transient kernel refusal must not take the whole mesh down.
 */
const MAX_CONSECUTIVE_IO_ERRORS = 1000;

type Init = Extract<WorkerRequest, { type: "init" }>;

interface WorkerState {
  plane: DataPlane;
  routes: AllowedIps<number>;
  udp: UdpSocket;
  running: boolean;
  now: () => number;
}

let current: WorkerState | null = null;

function routeTable(entries: RouteEntry[]): AllowedIps<number> {
  const table = new AllowedIps<number>();
  for (const entry of entries) table.insert(entry.address, entry.cidr, entry.peer);
  return table;
}

function post(reply: WorkerReply): void {
  self.postMessage(reply);
}

function run(init: Init): void {
  const core = CryptoCore.instantiate(init.module, init.memory, init.layout, init.workerIndex);
  const state = DataPlaneState.attach(init.stateBuffer, init.dimensions);
  const forwarding = new WorkerForwarding({
    control: new Int32Array(init.control),
    forwardSwim: init.forwardSwim,
  });
  const offset = performance.timeOrigin - init.timeOrigin;
  const now = () => performance.now() + offset;
  const queues = init.tunFds.map((fd) => new TunDevice(fd, init.interfaceName));
  const tun = queues[init.workerIndex - 1];
  const slotBytes = slotBytesFor(init.mtu);
  const nonceAt = init.arenaAt;
  const scratchAt = nonceAt + 64;
  const txBase = scratchAt + dataPlaneScratchBytes(init.mtu);
  const rxBase = txBase + WORKER_BATCH * slotBytes;
  const slice = (base: number, i: number) =>
    core.bytes.subarray(base + i * slotBytes, base + (i + 1) * slotBytes);
  const txSlots = datagramSlots(Array.from({ length: WORKER_BATCH }, (_, i) => slice(txBase, i)));
  const rxSlots = datagramSlots(Array.from({ length: WORKER_BATCH }, (_, i) => slice(rxBase, i)));
  // TUN packets are read 16 bytes into a tx slot, leaving room for the transport header.
  const tunViews = txSlots.map((slot) => slot.view.subarray(16, slotBytes - 32));
  // Per-slot views made once, so the receive loop allocates nothing per datagram.
  const rxPayloads = rxSlots.map((slot) => slot.view.subarray(16));
  const rxSourcesV4: Endpoint[] = rxSlots.map((slot) => ({
    address: slot.address.subarray(12, 16),
    port: 0,
  }));
  const rxSourcesV6: Endpoint[] = rxSlots.map((slot) => ({ address: slot.address, port: 0 }));

  const worker: WorkerState = {
    plane: undefined as unknown as DataPlane,
    routes: routeTable(init.routes),
    udp: UdpSocket.borrow(init.udpFd, init.udpPort, WORKER_BATCH),
    running: true,
    now,
  };
  worker.plane = new DataPlane({
    core,
    state,
    routes: { peerAt: (bytes, at, length) => worker.routes.lookupIn(bytes, at, length) ?? NONE },
    events: {
      wantHandshake: (peer) => post({ type: "want-handshake", peer }),
      keypairConfirmed: (peer, keypair) => post({ type: "confirmed", peer, keypair }),
    },
    send: (bytes, to) => {
      try {
        worker.udp.sendTo(bytes, to.address, to.port, bytes.length, 0);
      } catch {
        // One unroutable peer must not stop the device; the timers retry.
      }
    },
    writer: init.workerIndex,
    mtu: init.mtu,
    nonceAddress: nonceAt,
    scratchAddress: scratchAt,
    stats: { transportDropped: 0, replayedTransport: 0, spoofedSource: 0, noRoute: 0 },
  });
  current = worker;
  post({ type: "ready", workerIndex: init.workerIndex });

  const plane = worker.plane;
  const wake = EventFd.fromFd(init.wakeFd);
  let polledSocket = worker.udp;
  let polls = new PollSet([tun.fd, polledSocket.fd, wake.fd]);
  let ioErrors = 0;
  let handshakes: ReceivedDatagram[] = [];
  let swim: ReceivedDatagram[] = [];
  let sinceControl = performance.now();
  let packetsOut = 0;
  let packetsIn = 0;

  const loop = (): void => {
    while (worker.running) {
      const udp = worker.udp;
      if (udp !== polledSocket) {
        polledSocket = udp; // listen_port changed through UAPI
        polls = new PollSet([tun.fd, udp.fd, wake.fd]);
      }
      polls.wait(Math.max(0, Math.ceil(CONTROL_INTERVAL_MS - (performance.now() - sinceControl))));
      const time = now();

      // Outbound: a batch from the TUN queue, sealed in place, sent in one sendmmsg.
      let ready = 0;
      for (let i = 0; i < WORKER_BATCH && (polls.revents(0) & POLLIN) !== 0; i++) {
        let length: number;
        try {
          length = tun.read(tunViews[i]);
          ioErrors = 0;
        } catch (error) {
          if (++ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
          break;
        }
        if (length <= 0) break;
        if (!plane.sealInPlace(tunViews[i].byteOffset - 16, length, time, txSlots[i])) continue;
        if (ready !== i) {
          // Compact the batch; the view travels with its slot.
          const sealed = txSlots[i];
          txSlots[i] = txSlots[ready];
          txSlots[ready] = sealed;
          const view = tunViews[i];
          tunViews[i] = tunViews[ready];
          tunViews[ready] = view;
        }
        ready++;
      }
      if (ready > 0) {
        packetsOut += ready;
        try {
          udp.sendBatch(txSlots, ready, 5);
        } catch {
          // A broken socket shows on the next receive; packets are best effort.
        }
      }

      // Inbound: one recvmmsg batch, opened in place and written to the TUN from wasm memory.
      let received = 0;
      if ((polls.revents(1) & POLLIN) !== 0) {
        try {
          received = udp.receiveBatch(rxSlots, 0);
          ioErrors = 0;
        } catch (error) {
          if (++ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
        }
      }
      forwarding.startBatch();
      for (let i = 0; i < received; i++) {
        const slot = rxSlots[i];
        if (slot.truncated) continue;
        const source = isIpv4Mapped(slot.address) ? rxSourcesV4[i] : rxSourcesV6[i];
        source.port = slot.port;
        const inner = plane.openInPlace(slot.view.byteOffset, slot.length, source, time);
        if (inner > 0) {
          packetsIn++;
          // The flow's queue, not ours: the kernel sends the flow's replies to the queue its
          // packets came from, so this spreads sealing over the workers by flow.
          const queue = queues[flowQueue(slot.view, 16, inner, queues.length)];
          try {
            queue.write(rxPayloads[i], inner);
          } catch {
            // A packet the kernel refuses is dropped, as any router would.
          }
        } else if (inner < 0) {
          forward(slot.view.subarray(0, slot.length), source, time);
        }
      }
      if (handshakes.length > 0 || swim.length > 0) {
        post({ type: "received", handshakes, swim });
        handshakes = [];
        swim = [];
      }
      // The wake fd is read only when poll saw it signalled: no extra syscall when busy.
      const woken = (polls.revents(2) & POLLIN) !== 0 && wake.drain();
      if (woken || performance.now() - sinceControl >= CONTROL_INTERVAL_MS) {
        // Let queued control messages run: the loop continues from a macrotask.
        sinceControl = performance.now();
        setTimeout(guarded, 0);
        return;
      }
    }
    post({ type: "stopped", workerIndex: init.workerIndex, packetsOut, packetsIn });
  };

  const forward = (datagram: Uint8Array, source: Endpoint, time: number): void => {
    const verdict = forwarding.decide(datagram, source, time);
    if (verdict === FORWARD_HANDSHAKE || verdict === FORWARD_SWIM) {
      const copy = { address: source.address.slice(), port: source.port, data: datagram.slice() };
      (verdict === FORWARD_HANDSHAKE ? handshakes : swim).push(copy);
    }
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
        if (current) current.routes = routeTable(message.routes);
        return;
      case "flush":
        current?.plane.flushStaged(message.peer, current.now());
        return;
      case "drop":
        current?.plane.dropStaged(message.peer);
        return;
      case "socket":
        if (current) {
          const old = current.udp.fd;
          current.udp = UdpSocket.borrow(message.fd, message.port, WORKER_BATCH);
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
