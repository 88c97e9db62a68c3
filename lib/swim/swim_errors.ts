/** Typed errors of the SWIM layer; every other failure inside the engine is a dropped datagram. */

import { MeshguardError } from "../errors.ts";

/** A datagram or item could not be decoded; `reason` says which check failed. */
export class SwimDecodeError extends MeshguardError {
  /** Short machine-readable reason (e.g. "truncated", "bad-magic"). */
  readonly reason: string;
  constructor(reason: string, detail: string) {
    super(`SWIM decode: ${detail}`);
    this.reason = reason;
  }
}

/** The engine was configured with values it cannot run with. */
export class SwimConfigError extends MeshguardError {}

/** A seed or endpoint text is not `host:port` / `ip:port`. */
export class SwimAddressError extends MeshguardError {}
