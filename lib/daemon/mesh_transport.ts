/**
 * The one UDP port the mesh uses, seen from membership: datagrams in, datagrams out. With a
 * TUN it is the WireGuard device's own socket (the device's worker keeps WireGuard's datagrams
 * and hands the rest over); gossip-only nodes (`--no-tun`) use a plain dual-stack socket.
 */

import dgram from "node:dgram";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { MeshguardError } from "../errors.ts";

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
  socket.on("message", (message, remote) => {
    const address = remote.address.startsWith("::ffff:") && remote.address.includes(".")
      ? `${remote.address.slice(7)}:${remote.port}`
      : remote.family === "IPv6"
      ? `[${remote.address}]:${remote.port}`
      : `${remote.address}:${remote.port}`;
    onDatagrams([{ address, data: new Uint8Array(message) }]);
  });
  return {
    port: socket.address().port,
    send(datagrams) {
      for (const datagram of datagrams) {
        const split = datagram.address.lastIndexOf(":");
        let host = datagram.address.slice(0, split);
        if (host.startsWith("[")) host = host.slice(1, -1);
        else host = `::ffff:${host}`;
        socket.send(datagram.data, Number(datagram.address.slice(split + 1)), host);
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
