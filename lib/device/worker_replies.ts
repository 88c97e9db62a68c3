/**
 * What a userspace device's main thread does with its data workers' replies: handshake datagrams
 * go to the engine (then the handshake queue is worked through), SWIM datagrams to the owner,
 * key confirmations and handshake requests to the engine, relay counters to the relay edge,
 * notices to the log, a busy worker's call to worker growth, a socket switch to the socket group.
 */

import { formatEndpoint } from "../wireguard/endpoint.ts";
import type { WireguardEngine } from "../wireguard/engine.ts";
import { CONTROL_HANDSHAKES_IN_FLIGHT, type WorkerReply } from "./device_protocol.ts";
import type { DeviceOptions } from "./device_options.ts";
import type { DeviceRelay } from "./device_relay.ts";
import type { DeviceSockets } from "./device_sockets.ts";
import type { EngineClock } from "./engine_clock.ts";
import type { WorkerGrowth } from "./worker_growth.ts";
import { swimHandled } from "./worker_forwarding.ts";

/** The parts of the device the replies reach. */
export interface ReplyTargets {
  engine: WireguardEngine;
  clock: EngineClock;
  /** The control cells shared with the workers (handshakes in flight, SWIM forwarded). */
  control: Int32Array;
  relay: DeviceRelay;
  sockets: DeviceSockets;
  /** Worker growth, once the first workers run. */
  growth: () => WorkerGrowth | null;
  options: DeviceOptions;
}

/** Handles one worker reply against `targets`. */
export function handleWorkerReply(reply: WorkerReply, targets: ReplyTargets): void {
  const { engine, clock, control, options } = targets;
  const now = performance.now();
  switch (reply.type) {
    case "received":
      if (reply.handshakes.length > 0) {
        for (const datagram of reply.handshakes) {
          engine.receiveDatagram(datagram.data, datagram, now);
        }
        Atomics.sub(control, CONTROL_HANDSHAKES_IN_FLIGHT, reply.handshakes.length);
        clock.pumpHandshakes();
      }
      if (reply.swim.length > 0) {
        try {
          options.onSwimDatagrams?.(reply.swim.map((datagram) => ({
            address: formatEndpoint(datagram),
            data: datagram.data,
          })));
        } finally {
          // Handled (membership runs synchronously): the workers may forward as many again.
          swimHandled(control, reply.swim.length);
        }
      }
      return;
    case "want-handshake":
      engine.requestHandshake(reply.peer, now);
      clock.schedule();
      return;
    case "confirmed":
      engine.confirmKeypair(reply.peer, reply.keypair, now);
      clock.schedule();
      return;
    case "relay-stats":
      targets.relay.posted(reply.workerIndex, reply.stats);
      return;
    case "notice":
      (options.log ?? (() => {}))(reply.message);
      return;
    case "busy":
      void targets.growth()?.grow();
      return;
    case "socket-switched":
      // Each socket has one worker, so the one it left is no longer read by anyone.
      targets.sockets.switched(reply.fd);
      return;
  }
}
