/**
 * A node's names on the system: the mesh resolver on its mesh addresses, answering from its
 * peer table, and (where systemd-resolved runs) the `.mesh` routing on its interface. The daemon
 * starts it once the interface has its addresses and stops it before the interface goes.
 */

import type { Logger } from "../log/logger.ts";
import { DnsServer } from "./dns_server.ts";
import { MeshDnsTable } from "./mesh_dns_table.ts";
import type { MeshPeers } from "./mesh_peers.ts";
import { registerWithResolved, resolvedRunning } from "./resolved_link.ts";

/** How a node's names start. */
export interface NodeDnsOptions {
  peers: MeshPeers;
  publicKey: Uint8Array;
  interfaceName: string;
  /** The node's mesh IPv4 and IPv6 (text). */
  addresses: string[];
  log: Logger;
  /** Port (default 53; tests). */
  port?: number;
}

/** The running resolver and its registration. */
export class NodeDns {
  readonly #server: DnsServer;
  readonly #unregister: (() => Promise<void>) | null;

  private constructor(server: DnsServer, unregister: (() => Promise<void>) | null) {
    this.#server = server;
    this.#unregister = unregister;
  }

  /** Starts the resolver, then registers it with systemd-resolved when that runs. */
  static async start(options: NodeDnsOptions): Promise<NodeDns> {
    const table = new MeshDnsTable(options.peers, options.publicKey);
    const server = await DnsServer.start({
      addresses: options.addresses,
      port: options.port,
      table: () => table.table(performance.now()),
      log: options.log,
    });
    const own = options.peers.names.selfName;
    options.log.info(
      `mesh DNS on ${server.listening.join(", ")} (UDP and TCP)${
        own === null ? "" : `; this node is ${own}`
      }`,
    );
    const unregister = resolvedRunning()
      ? await registerWithResolved(options.interfaceName, options.addresses, options.log)
      : null;
    return new NodeDns(server, unregister);
  }

  /** Where it listens. */
  get listening(): readonly string[] {
    return this.#server.listening;
  }

  /** Takes the registration back and closes the sockets. */
  async stop(): Promise<void> {
    await this.#unregister?.();
    await this.#server.stop();
  }
}
