/**
 * How `meshguard up` runs the daemon (`mesh_daemon.ts`): its options, from the command line,
 * and the error a start that fails throws. Both are re-exported by `mesh_daemon.ts`.
 */

import { MeshguardError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { SeedSpec } from "../swim/address.ts";
import type { RelayLimits } from "../relay/relay_table.ts";
import type { ControllerAgentOptions } from "../controller/controller_agent.ts";
import type { StunOption } from "./seeds.ts";

/** How `up` runs the daemon. */
export interface MeshDaemonOptions {
  configDir: string;
  interfaceName: string;
  port: number;
  mtu: number;
  /** Data workers of the device (default: the device's own, one per CPU up to 4). */
  workers?: number;
  /** TUN offloads (virtio-net header, TSO/USO); default on, probed (`--no-offload`). */
  offload?: boolean;
  /** Admit every key (explicit `--open`). */
  open: boolean;
  /** With `open`: the most members admitted without trust (`--max-members`). */
  maxMembers?: number;
  /** Gossip only: no TUN, no WireGuard. */
  noTun: boolean;
  seeds: SeedSpec[];
  /**
   * Where STUN answers come from: members (default), the `--stun` servers (resolved like
   * seeds), or off (`--stun none`).
   */
  stun?: StunOption;
  /** `--announce` addresses, advertised before the interface addresses. */
  announce?: SeedSpec[];
  /** Relay WireGuard datagrams between trusted members without a direct path (`--relay`). */
  relay?: boolean;
  /** With `relay`: the budgets `--relay-rate` / `--relay-pairs` cap (default DEFAULT_RELAY_LIMITS). */
  relayLimits?: Partial<RelayLimits>;
  /** Serve mesh names on the mesh addresses (default true; `--no-dns`: false). */
  dns?: boolean;
  /** Admission control (`--controller`): peers need the controller's "allowed" and PSKs. */
  controller?: Omit<ControllerAgentOptions, "sign" | "signRead" | "log" | "onAdmitted">;
  log: Logger;
}

/** Thrown when the daemon cannot start. */
export class DaemonError extends MeshguardError {}
