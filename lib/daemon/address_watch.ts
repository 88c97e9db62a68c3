/**
 * Notices when this host's interface addresses change (a DHCP renewal, a new Wi-Fi network, an
 * address added by hand), so the record's endpoint candidates and the STUN mapping follow them
 * (issue 13: "refreshed when the local addresses change"). Polling `Deno.networkInterfaces()`
 * every few seconds costs one syscall batch and needs no netlink subscription; the list it
 * compares is the one the record advertises (`local_endpoints.ts`), so changes on the mesh
 * interface or to link-local addresses wake nobody.
 */

import { advertisedEndpoints, type InterfaceAddress } from "./local_endpoints.ts";

/** How often the interface addresses are read. */
export const ADDRESS_POLL_MS = 2_000;

/** What the watcher needs: the current addresses and where to report a changed endpoint list. */
export interface AddressWatchOptions {
  /** The mesh port the endpoints carry. */
  port: number;
  /** The mesh interface (its addresses are never advertised). */
  meshInterface: string;
  /** The endpoints advertised now (the start-up list). */
  initial: readonly string[];
  /** Reads the interface addresses (`Deno.networkInterfaces` in the daemon). */
  read: () => InterfaceAddress[];
  /** Called with the new endpoint list whenever it differs from the last one. */
  onChange: (endpoints: string[]) => void;
}

/** Compares the advertised endpoints on each `poll()`; `start` runs it on a timer. */
export class AddressWatch {
  readonly #options: AddressWatchOptions;
  #last: string;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A watcher that has seen `options.initial`. */
  constructor(options: AddressWatchOptions) {
    this.#options = options;
    this.#last = options.initial.join(" ");
  }

  /** Reads the addresses once; reports the endpoint list when it changed. */
  poll(): void {
    const { read, port, meshInterface, onChange } = this.#options;
    let endpoints: string[];
    try {
      endpoints = advertisedEndpoints(read(), port, meshInterface);
    } catch {
      // An interface vanishing mid-read: the next poll sees the settled list.
      return;
    }
    const key = endpoints.join(" ");
    if (key === this.#last) return;
    this.#last = key;
    onChange(endpoints);
  }

  /** Polls every `intervalMs` until `stop()`. */
  start(intervalMs = ADDRESS_POLL_MS): void {
    this.stop();
    this.#timer = setInterval(() => this.poll(), intervalMs);
  }

  /** Stops polling; idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
