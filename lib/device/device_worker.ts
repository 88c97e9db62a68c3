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
import { type Endpoint, formatEndpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import { isSwimDatagram } from "../swim/header.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { datagramSlots, UdpSocket } from "../../ffi/udp_socket.ts";
import { POLLIN, PollSet } from "../../ffi/poll.ts";
import { EventFd } from "../../ffi/event_fd.ts";
import { isIpv4Mapped } from "../../ffi/socket_address.ts";
import type { ForeignDatagram, WorkerReply, WorkerRequest } from "./device_protocol.ts";

/**
 * How long the loop may run before it lets the event loop deliver control messages when no
 * wake-up came (a safety net: the main thread signals the wake fd after every message).
 */
const CONTROL_INTERVAL_MS = 100;
const BATCH = 64;
/**
 * SWIM datagrams handed to the main thread per control interval, at most. Membership traffic is
 * a few datagrams a second; the bound keeps a flood from queueing without limit between threads.
 */
const MAX_FORWARDED = 256;
/**
 * Consecutive failed TUN or UDP calls after which the device gives up. One failure is not fatal:
 * a queued ICMP error or a transient kernel refusal must not take the whole mesh down.
 */
const MAX_CONSECUTIVE_IO_ERRORS = 1000;

interface State {
  engine: WireguardEngine;
  tun: TunDevice;
  udp: UdpSocket | null;
  fwmark: number;
  running: boolean;
  /** SWIM datagrams received since the last hand-over (null: not forwarding). */
  forwarded: ForeignDatagram[] | null;
}

let state: State | null = null;

function openSocket(port: number, fwmark: number): UdpSocket {
  const socket = UdpSocket.open({ port, batchSize: BATCH, receiveBufferBytes: 4 << 20 });
  if (fwmark !== 0) socket.setFwmark(fwmark);
  return socket;
}

async function run(init: Extract<WorkerRequest, { type: "init" }>): Promise<void> {
  // Packet buffers live in the wasm arena: TUN reads, AEAD and UDP sends touch the same bytes.
  const slotBytes = Math.ceil((init.mtu + 64) / 64) * 64;
  const core = await CryptoCore.create({
    instances: 1,
    keySlots: 4096,
    arenaBytes: 64 + 2 * BATCH * slotBytes,
  });
  const primitives = createNoisePrimitives(core);
  const tun = new TunDevice(init.tunFd, init.interfaceName);
  const arena = core.layout.arenaBase;
  const txBase = arena + 64; // the first 64 arena bytes hold the engine's nonce
  const rxBase = txBase + BATCH * slotBytes;
  const txSlots = datagramSlots(
    Array.from(
      { length: BATCH },
      (_, i) => core.bytes.subarray(txBase + i * slotBytes, txBase + (i + 1) * slotBytes),
    ),
  );
  const rxSlots = datagramSlots(
    Array.from(
      { length: BATCH },
      (_, i) => core.bytes.subarray(rxBase + i * slotBytes, rxBase + (i + 1) * slotBytes),
    ),
  );
  // TUN packets are read 16 bytes into a tx slot, leaving room for the transport header.
  const tunViews = txSlots.map((slot) => slot.view.subarray(16, slotBytes - 32));
  // Per-slot views made once, so the receive loop allocates nothing per datagram.
  const rxPayloads = rxSlots.map((slot) => slot.view.subarray(16));
  const rxSourcesV4: Endpoint[] = rxSlots.map((slot) => ({
    address: slot.address.subarray(12, 16),
    port: 0,
  }));
  const rxSourcesV6: Endpoint[] = rxSlots.map((slot) => ({ address: slot.address, port: 0 }));
  const engine = new WireguardEngine({
    primitives,
    core,
    now: performance.now(),
    mtu: init.mtu,
    nonceAddress: arena,
    sink: {
      sendDatagram(bytes: Uint8Array, to: Endpoint) {
        try {
          state?.udp?.sendTo(bytes, to.address, to.port, bytes.length, 0);
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
  const current: State = {
    engine,
    tun,
    udp: null,
    fwmark: 0,
    running: true,
    forwarded: init.forwardSwim ? [] : null,
  };
  state = current;
  current.udp = openSocket(init.listenPort, 0);
  postReply({ type: "ready", listenPort: current.udp.port });

  let lastControl = performance.now();
  let ioErrors = 0;
  let polledSocket = current.udp;
  const wake = EventFd.fromFd(init.wakeFd);
  let polls = new PollSet([tun.fd, polledSocket.fd, wake.fd]);
  while (current.running) {
    const udp = current.udp!;
    if (udp !== polledSocket) {
      // listen_port changed through UAPI: poll the new socket.
      polledSocket = udp;
      polls = new PollSet([tun.fd, udp.fd, wake.fd]);
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

    // Outbound: read up to a batch from the TUN, seal each in place, send them in one sendmmsg.
    // Nothing here allocates: the slots are reused and sealInPlace fills them directly.
    let ready = 0;
    for (let i = 0; i < BATCH && (polls.revents(0) & POLLIN) !== 0; i++) {
      let length: number;
      try {
        length = tun.read(tunViews[i]);
        ioErrors = 0;
      } catch (error) {
        if (++ioErrors > MAX_CONSECUTIVE_IO_ERRORS) throw error;
        break;
      }
      if (length <= 0) break;
      // Views move between slots as the batch is compacted; the address travels with the view.
      if (!engine.sealInPlace(tunViews[i].byteOffset - 16, length, now, txSlots[i])) continue;
      if (ready !== i) {
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
      try {
        udp.sendBatch(txSlots, ready, 5);
      } catch {
        // A broken socket is reported by the next receive; packets are best effort.
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
    for (let i = 0; i < received; i++) {
      const slot = rxSlots[i];
      if (slot.truncated) continue;
      // recvmmsg fills each slot's 16-byte address in place: IPv4 senders arrive mapped.
      const source = isIpv4Mapped(slot.address) ? rxSourcesV4[i] : rxSourcesV6[i];
      source.port = slot.port;
      const inner = engine.openInPlace(slot.view.byteOffset, slot.length, source, now);
      if (inner > 0) {
        try {
          tun.write(rxPayloads[i], inner);
        } catch {
          // dropped, as above
        }
      } else if (inner < 0) {
        const datagram = slot.view.subarray(0, slot.length);
        if (current.forwarded !== null && isSwimDatagram(datagram)) {
          if (current.forwarded.length < MAX_FORWARDED) {
            current.forwarded.push({ address: formatEndpoint(source), data: datagram.slice() });
          }
        } else {
          engine.receiveDatagram(datagram, source, now);
        }
      }
    }
    engine.processHandshakes(now);
    engine.tick(now);
    if (current.forwarded !== null && current.forwarded.length > 0) {
      postReply({ type: "received", datagrams: current.forwarded });
      current.forwarded = [];
    }
    // The wake fd is read only when poll saw it signalled: no extra syscall per busy iteration.
    const woken = (polls.revents(2) & POLLIN) !== 0 && wake.drain();
    if (woken || performance.now() - lastControl >= CONTROL_INTERVAL_MS) {
      // Let queued control messages (UAPI, stop) run; this is the only await in the loop.
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastControl = performance.now();
    }
  }
  current.udp?.close();
  tun.close();
  postReply({ type: "stopped" });
}

function sendForeign(udp: UdpSocket, datagrams: ForeignDatagram[]): void {
  for (const datagram of datagrams) {
    try {
      const to = parseEndpoint(datagram.address);
      udp.sendTo(datagram.data, to.address, to.port, datagram.data.length, 0);
    } catch {
      // An unreachable member is the membership protocol's business (it probes and suspects).
    }
  }
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
    case "send":
      if (state?.udp) sendForeign(state.udp, message.datagrams);
      return;
    case "stop":
      if (state) state.running = false;
      else postReply({ type: "stopped" });
      return;
  }
};
