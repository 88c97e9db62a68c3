/** Messages between the device's main thread and its data-plane worker (never per packet). */

/** Main thread → worker. */
export type WorkerRequest =
  | { type: "init"; tunFd: number; interfaceName: string; listenPort: number; mtu: number }
  | { type: "uapi"; id: number; request: string }
  | { type: "stop" };

/** Worker → main thread. */
export type WorkerReply =
  | { type: "ready"; listenPort: number }
  | { type: "uapi"; id: number; response: string | null }
  | { type: "failed"; message: string }
  | { type: "stopped" };
