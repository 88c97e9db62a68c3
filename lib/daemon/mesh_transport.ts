/**
 * The one UDP port the mesh uses, seen from membership: datagrams in, datagrams out. With a
 * TUN it is the WireGuard device's own socket (the device's worker keeps WireGuard's datagrams
 * and hands the rest over); gossip-only nodes (`--no-tun`) use a plain dual-stack socket.
 */

import dgram from "node:dgram";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { MeshguardError } from "../errors.ts";
import { formatIpAddress, parseIpv4, parseIpv6 } from "../net/ip_address.ts";
import { formatEndpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import { classifyDatagram, PORT_STUN } from "../net/port_demux.ts";
import { looksLikeBindingResponse } from "../stun/stun_message.ts";
import { StunResponder } from "../stun/stun_responder.ts";

/** Sends membership datagrams from the mesh port. */
export interface MeshTransport {
  /** The bound UDP port. */
  readonly port: number;
  /** Sends datagrams (best effort). */
  send(datagrams: ForeignDatagram[]): void;
  /** Closes the socket. */
  close(): Promise<void>;
}

/** Thrown when the mesh port cannot be bound. */
export class TransportError extends MeshguardError {}

/** A gossip-only transport on a dual-stack UDP socket. */
export async function openGossipSocket(
  port: number,
  onDatagrams: (datagrams: ForeignDatagram[]) => void,
): Promise<MeshTransport> {
  const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    socket.once(
      "error",
      (error) => reject(new TransportError(`cannot bind UDP port ${port}: ${error.message}`)),
    );
    socket.bind(port, "::", () => resolve());
  });
  socket.on("error", () => {
    // Per-datagram errors (unreachable peers) are membership's business, not fatal.
  });
  const stun = new StunResponder();
  socket.on("message", (message, remote) => {
    // IPv4 senders arrive as ::ffff:a.b.c.d on the dual-stack socket.
    const text = remote.address.replace(/^::ffff:(?=\d+\.)/i, "");
    const bytes = parseIpv4(text) ?? parseIpv6(text);
    if (bytes === null) return;
    const data = new Uint8Array(message);
    if (classifyDatagram(data) === PORT_STUN && !looksLikeBindingResponse(data, data.length)) {
      // As the device's workers do: a plain request is answered here, anything else dropped.
      const answer = stun.answer(data, bytes, remote.port, performance.now());
      if (answer !== null) socket.send(answer.slice(), remote.port, remote.address);
      return;
    }
    const address = formatEndpoint({ address: bytes, port: remote.port });
    onDatagrams([{ address, data }]);
  });
  return {
    port: socket.address().port,
    send(datagrams) {
      for (const datagram of datagrams) {
        try {
          const to = parseEndpoint(datagram.address);
          const host = formatIpAddress(to.address);
          socket.send(datagram.data, to.port, to.address.length === 4 ? `::ffff:${host}` : host);
        } catch {
          // An unusable address is membership's business (it probes and suspects), never fatal.
        }
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
