/**
 * The mesh resolver's sockets: UDP and TCP port 53 on each of this node's mesh addresses (never
 * a wildcard: other resolvers keep their port 53, and only the mesh reaches it). Each query goes
 * to the sans-IO `DnsResponder` with the current table; TCP carries RFC 1035 length-prefixed
 * messages, on a bounded number of connections (in all and per source) that close when idle.
 */

import dgram from "node:dgram";
import { MeshguardError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { parseIpv4, parseIpv6 } from "../net/ip_address.ts";
import { DNS_MAX_QUERY, DnsResponder, type DnsResponderOptions } from "../dns/dns_responder.ts";
import type { DnsTable } from "../dns/dns_table.ts";

/** The DNS port. */
export const DNS_PORT = 53;
/** TCP connections served at once; more are closed at once. */
export const DNS_MAX_TCP_CONNECTIONS = 64;
/** TCP connections one source address may hold at once (so one member cannot take them all). */
export const DNS_MAX_TCP_PER_SOURCE = 8;
/** A TCP connection with no complete query for this long is closed (ms). */
export const DNS_TCP_IDLE_MS = 10_000;
/** How long binding retries while a just-added address is not usable yet (ms). */
const BIND_RETRY_MS = 3_000;

/** How a DNS server is started. */
export interface DnsServerOptions {
  /** The addresses to listen on (numeric IPv4/IPv6 text). */
  addresses: string[];
  /** Port (default DNS_PORT; tests use 0). */
  port?: number;
  /** The table each query is answered from (called per query; cache it). */
  table: () => DnsTable;
  log: Logger;
  /** The responder's limits. */
  limits?: DnsResponderOptions;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
}

/** Thrown when the DNS sockets cannot be opened. */
export class DnsServerError extends MeshguardError {}

/** A running mesh DNS server. */
export class DnsServer {
  readonly #options: DnsServerOptions;
  readonly #responder: DnsResponder;
  readonly #udp: dgram.Socket[] = [];
  readonly #tcp: Deno.TcpListener[] = [];
  readonly #connections = new Set<Deno.TcpConn>();
  /** Open connections per source address (text). */
  readonly #perSource = new Map<string, number>();
  readonly #now: () => number;
  #stopped = false;
  /** Where it listens (`address:port` / `[address]:port`), for logs and tests. */
  readonly listening: string[] = [];

  private constructor(options: DnsServerOptions) {
    this.#options = options;
    this.#responder = new DnsResponder(options.limits);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Opens UDP and TCP on every address; throws DnsServerError naming what failed. */
  static async start(options: DnsServerOptions): Promise<DnsServer> {
    const server = new DnsServer(options);
    try {
      for (const address of options.addresses) await server.#listen(address);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** What the responder counted. */
  get counters(): DnsResponder["counters"] {
    return this.#responder.counters;
  }

  async #listen(address: string): Promise<void> {
    const v6 = address.includes(":");
    const until = performance.now() + BIND_RETRY_MS;
    for (;;) {
      try {
        const socket = await bindUdp(address, this.#options.port ?? DNS_PORT, v6);
        this.#udp.push(socket);
        const port = socket.address().port;
        socket.on("message", (message, remote) => this.#onDatagram(socket, message, remote));
        const listener = Deno.listen({ hostname: address, port, transport: "tcp" });
        this.#tcp.push(listener);
        this.#accept(listener);
        this.listening.push(v6 ? `[${address}]:${port}` : `${address}:${port}`);
        return;
      } catch (error) {
        // A just-added address can be unusable for a moment (IPv6 still tentative).
        const code = (error as { code?: string }).code;
        const unavailable = code === "EADDRNOTAVAIL" ||
          error instanceof Deno.errors.AddrNotAvailable;
        if (!unavailable || performance.now() > until) {
          throw new DnsServerError(
            `cannot serve DNS on ${address} port ${this.#options.port ?? DNS_PORT}: ${
              (error as Error).message
            } (another resolver on that address? start with --no-dns to go without names)`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  #onDatagram(socket: dgram.Socket, message: Uint8Array, remote: dgram.RemoteInfo): void {
    const source = sourceBytes(remote.address);
    if (source === null) return;
    const answer = this.#answer(message, source, "udp");
    if (answer !== null) socket.send(answer, remote.port, remote.address);
  }

  #answer(query: Uint8Array, source: Uint8Array, transport: "udp" | "tcp"): Uint8Array | null {
    try {
      return this.#responder.answer(query, source, transport, this.#options.table(), this.#now());
    } catch (error) {
      // The responder never throws by design; a bug here must not take the daemon down.
      this.#options.log.error(`DNS query failed: ${(error as Error).message}`);
      return null;
    }
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        const from = conn.remoteAddr.hostname;
        const held = this.#perSource.get(from) ?? 0;
        if (
          this.#stopped || this.#connections.size >= DNS_MAX_TCP_CONNECTIONS ||
          held >= DNS_MAX_TCP_PER_SOURCE
        ) {
          conn.close();
          continue;
        }
        this.#connections.add(conn);
        this.#perSource.set(from, held + 1);
        this.#serveTcp(conn).finally(() => {
          this.#connections.delete(conn);
          const left = (this.#perSource.get(from) ?? 1) - 1;
          if (left > 0) this.#perSource.set(from, left);
          else this.#perSource.delete(from);
          try {
            conn.close();
          } catch {
            // already closed
          }
        });
      }
    } catch {
      // The listener was closed.
    }
  }

  /** Length-prefixed queries until the peer closes, sends garbage, or idles. */
  async #serveTcp(conn: Deno.TcpConn): Promise<void> {
    const source = sourceBytes(conn.remoteAddr.hostname);
    if (source === null) return;
    const buffer = new Uint8Array(2 + DNS_MAX_QUERY);
    let filled = 0;
    let idle = setTimeout(() => conn.close(), DNS_TCP_IDLE_MS);
    try {
      for (;;) {
        const read = await conn.read(buffer.subarray(filled)).catch(() => null);
        if (read === null || read === 0) return;
        filled += read;
        while (filled >= 2) {
          const length = (buffer[0] << 8) | buffer[1];
          if (length > DNS_MAX_QUERY) return;
          if (filled < 2 + length) break;
          const answer = this.#answer(buffer.slice(2, 2 + length), source, "tcp");
          if (answer === null) return;
          const framed = new Uint8Array(2 + answer.length);
          framed[0] = answer.length >> 8;
          framed[1] = answer.length & 0xff;
          framed.set(answer, 2);
          await writeAll(conn, framed);
          buffer.copyWithin(0, 2 + length, filled);
          filled -= 2 + length;
          clearTimeout(idle);
          idle = setTimeout(() => conn.close(), DNS_TCP_IDLE_MS);
        }
      }
    } catch {
      // The connection broke or was closed when idle.
    } finally {
      clearTimeout(idle);
    }
  }

  /** Closes every socket and connection; idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const listener of this.#tcp.splice(0)) {
      try {
        listener.close();
      } catch {
        // already closed
      }
    }
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(
      this.#udp.splice(0).map((socket) =>
        new Promise<void>((resolve) => socket.close(() => resolve()))
      ),
    );
  }
}

function bindUdp(address: string, port: number, v6: boolean): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: v6 });
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(port, address, () => {
      socket.removeAllListeners("error");
      socket.on("error", () => {
        // Per-datagram send errors (a client gone) are not fatal.
      });
      resolve(socket);
    });
  });
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** 4 or 16 address bytes from a socket's text address (IPv4-mapped as IPv4), or null. */
function sourceBytes(text: string): Uint8Array | null {
  const plain = text.replace(/%.*$/, "").replace(/^::ffff:(?=\d+\.)/i, "");
  return parseIpv4(plain) ?? parseIpv6(plain);
}
