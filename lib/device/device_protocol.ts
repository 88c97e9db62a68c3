/** Messages between the device's main thread and its data-plane worker (never per packet). */

/** A datagram that is not WireGuard's, carried between the worker's socket and the daemon. */
export interface ForeignDatagram {
  /** The peer, as `a.b.c.d:port` or `[v6]:port`. */
  address: string;
  data: Uint8Array;
}

/** Main thread → worker. */
export type WorkerRequest =
  | {
    type: "init";
    tunFd: number;
    interfaceName: string;
    listenPort: number;
    mtu: number;
    /** Hand SWIM datagrams arriving on the WireGuard port to the main thread. */
    forwardSwim: boolean;
    /** An eventfd the main thread signals after each message, waking the worker's poll. */
    wakeFd: number;
  }
  | { type: "uapi"; id: number; request: string }
  | { type: "send"; datagrams: ForeignDatagram[] }
  | { type: "stop" };

/** Worker → main thread. */
export type WorkerReply =
  | { type: "ready"; listenPort: number }
  | { type: "uapi"; id: number; response: string | null }
  | { type: "received"; datagrams: ForeignDatagram[] }
  | { type: "failed"; message: string }
  | { type: "stopped" };
