/**
 * A device's relay edge on the main thread (lib/relay/): the bindings and relay table the mesh
 * node keeps, the main thread's relay socket (handshakes to relayed peers go through it), the
 * message that copies the state to the workers, and the counters they post back.
 */

import type { RelayEndpoints } from "../relay/relay_endpoints.ts";
import { RelaySocket } from "../relay/relay_socket.ts";
import type { RelayTable, RelayTableStats } from "../relay/relay_table.ts";
import type { UdpSocket } from "../../ffi/udp_socket.ts";
import type { WorkerRequest } from "./device_protocol.ts";

/** The relay state of one device (off until `use`). */
export class DeviceRelay {
  #state: { endpoints: RelayEndpoints; table: RelayTable | null } | null = null;
  #edge: RelaySocket | null = null;
  /** The latest relay counters each worker posted. */
  readonly #statsByWorker = new Map<number, RelayTableStats>();

  /** The main thread's relay socket, or null while relaying is off (send from the port). */
  get edge(): RelaySocket | null {
    return this.#edge;
  }

  /** Turns the edge on over `socket` with the node's bindings and (when we relay) table. */
  use(endpoints: RelayEndpoints, table: RelayTable | null, socket: UdpSocket): void {
    this.#state = { endpoints, table };
    this.#edge = new RelaySocket(socket, endpoints, null, () => performance.now());
  }

  /** The listen port moved: the edge follows it onto `socket`. */
  rebound(socket: UdpSocket): void {
    const state = this.#state;
    if (state !== null) {
      this.#edge = new RelaySocket(socket, state.endpoints, null, () => performance.now());
    }
  }

  /** The message that copies the bindings and table to every worker (null: relaying is off). */
  message(): WorkerRequest | null {
    const state = this.#state;
    if (state === null) return null;
    const table = state.table;
    return {
      type: "relay",
      bindings: state.endpoints.snapshot(),
      relay: table === null ? null : { limits: table.limits, members: table.members },
    };
  }

  /** Worker `workerIndex` posted its counters. */
  posted(workerIndex: number, stats: RelayTableStats): void {
    this.#statsByWorker.set(workerIndex, stats);
  }

  /** Worker `workerIndex` retired: its counters leave `stats` with it. */
  retired(workerIndex: number): void {
    this.#statsByWorker.delete(workerIndex);
  }

  /** Each data thread's relay counters and pairs, as last posted (empty: relays nothing). */
  stats(): RelayTableStats[] {
    return this.#state?.table ? [...this.#statsByWorker.values()] : [];
  }
}
