/**
 * The data-plane worker of a userspace WireGuard device: it owns the WireGuard engine, the
 * TUN queue and the UDP socket, and runs a plain loop of blocking FFI calls (poll, read,
 * recvmmsg) so no packet ever crosses threads or waits on a Promise. The main thread only
 * sends it configuration (UAPI requests) and the stop order, between packet bursts.
 */

/// <reference lib="deno.worker" />

import { CryptoCore } from "../crypto/crypto_core.ts";
import { createNoisePrimitives } from "../wireguard/noise_primitives.ts";
import { WireguardEngine } from "../wireguard/engine.ts";
import { handleUapiRequest, UAPI_ERRNO, UapiError } from "../wireguard/uapi.ts";
import { type Endpoint } from "../wireguard/endpoint.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { datagramSlots, UdpSocket } from "../../ffi/udp_socket.ts";
import { PollSet } from "../../ffi/poll.ts";
import { unmapAddress } from "../../ffi/socket_address.ts";
import type { WorkerReply, WorkerRequest } from "./device_protocol.ts";

/** How long the loop may run before it lets the event loop deliver control messages. */
const CONTROL_INTERVAL_MS = 10;
const BATCH = 64;
const MAX_PACKET = 65536;

interface State {
  engine: WireguardEngine;
  tun: TunDevice;
  udp: UdpSocket | null;
  privateKey: Uint8Array | null;
  fwmark: number;
  running: boolean;
}

let state: State | null = null;

function openSocket(port: number, fwmark: number): UdpSocket {
  const socket = UdpSocket.open({ port, batchSize: BATCH, receiveBufferBytes: 4 << 20 });
  if (fwmark !== 0) socket.setFwmark(fwmark);
  return socket;
}

async function run(init: Extract<WorkerRequest, { type: "init" }>): Promise<void> {
  const core = await CryptoCore.create({ instances: 1 });
  const primitives = createNoisePrimitives(core);
  const tun = new TunDevice(init.tunFd, init.interfaceName);
  const encrypted = datagramSlots(Array.from({ length: BATCH }, () => new Uint8Array(MAX_PACKET)));
  const inbound = new Uint8Array(MAX_PACKET);
  let current: State;
  const engine = new WireguardEngine({
    primitives,
    core,
    privateKey: primitives.generatePrivateKey(),
    now: performance.now(),
    mtu: init.mtu,
    sink: {
      sendDatagram(bytes: Uint8Array, to: Endpoint) {
        try {
          current.udp?.sendTo(bytes, to.address, to.port, bytes.length, 0);
        } catch {
          // One unroutable peer must not stop the device; the engine retries by its timers.
        }
      },
      deliverPacket(packet: Uint8Array) {
        try {
          tun.write(packet);
        } catch {
          // A packet the kernel refuses is dropped, as any router would.
        }
      },
    },
  });
  current = state = { engine, tun, udp: null, privateKey: null, fwmark: 0, running: true };
  current.udp = openSocket(init.listenPort, 0);
  postReply({ type: "ready", listenPort: current.udp.port });

  let lastControl = performance.now();
  let polledSocket = current.udp;
  let polls = new PollSet([tun.fd, polledSocket.fd]);
  while (current.running) {
    const udp = current.udp!;
    if (udp !== polledSocket) {
      // listen_port changed through UAPI: poll the new socket.
      polledSocket = udp;
      polls = new PollSet([tun.fd, udp.fd]);
    }
    let now = performance.now();
    const deadline = engine.nextDeadline();
    const untilControl = CONTROL_INTERVAL_MS - (now - lastControl);
    const wait = Math.max(
      0,
      Math.min(untilControl, deadline === null ? untilControl : deadline - now),
    );
    polls.wait(Math.ceil(wait));
    now = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const length = tun.read(inbound);
      if (length <= 0) break;
      engine.sendPacket(inbound.subarray(0, length), now);
    }
    const received = udp.receiveBatch(encrypted, 0);
    for (let i = 0; i < received; i++) {
      const slot = encrypted[i];
      if (slot.truncated) continue;
      engine.receiveDatagram(
        slot.view.subarray(0, slot.length),
        { address: unmapAddress(slot.address).slice(), port: slot.port },
        now,
      );
    }
    engine.processHandshakes(now);
    engine.tick(now);
    if (performance.now() - lastControl >= CONTROL_INTERVAL_MS) {
      // Let queued control messages (UAPI, stop) run; this is the only await in the loop.
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastControl = performance.now();
    }
  }
  current.udp?.close();
  tun.close();
  postReply({ type: "stopped" });
}

function postReply(reply: WorkerReply): void {
  self.postMessage(reply);
}

function uapi(request: string): string | null {
  const current = state!;
  const origin = Date.now() - performance.now();
  return handleUapiRequest(
    {
      engine: current.engine,
      listenPort: () => current.udp?.port ?? 0,
      setListenPort: (port) => {
        if (current.udp && port === current.udp.port) return;
        let socket: UdpSocket;
        try {
          socket = openSocket(port, current.fwmark);
        } catch (error) {
          throw new UapiError(UAPI_ERRNO.EADDRINUSE, (error as Error).message);
        }
        current.udp?.close();
        current.udp = socket;
      },
      fwmark: () => current.fwmark,
      setFwmark: (mark) => {
        current.fwmark = mark;
        current.udp?.setFwmark(mark);
      },
      now: () => performance.now(),
      wallClockAt: (t) => Math.round(origin + t),
    },
    request,
    () => current.privateKey,
    (key) => current.privateKey = key.slice(),
  );
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      run(message).catch((error) => {
        postReply({
          type: "failed",
          message: error instanceof Error ? error.message : String(error),
        });
      });
      return;
    case "uapi":
      postReply({ type: "uapi", id: message.id, response: state ? uapi(message.request) : null });
      return;
    case "stop":
      if (state) state.running = false;
      else postReply({ type: "stopped" });
      return;
  }
};
