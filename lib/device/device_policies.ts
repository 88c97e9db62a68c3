/**
 * A device's service policy on the main thread: the policy set last (`services/`), compiled to
 * the shared policy table the data workers read, and republished when peers come and go (the
 * rows are by peer id). Shared by `UserspaceDevice` and the in-process test device.
 */

import { ALLOW_ALL, compileDevicePolicy, type DevicePolicy } from "../policy/device_policy.ts";
import { PolicyTable, type RuleDrops } from "../policy/policy_table.ts";

/** The policy a device enforces, and its shared table. */
export class DevicePolicies {
  /** The table the workers attach to (its `buffer`). */
  readonly table: PolicyTable;
  readonly #peerId: (publicKey: Uint8Array) => number | undefined;
  #policy: DevicePolicy = ALLOW_ALL;

  /** A table for `peers` peer slots; `peerId` gives a WireGuard key's slot (undefined: none). */
  constructor(peers: number, peerId: (publicKey: Uint8Array) => number | undefined) {
    this.table = PolicyTable.create(peers);
    this.#peerId = peerId;
  }

  /** Enforces `policy` from now on (the workers read it from shared memory: no restart). */
  set(policy: DevicePolicy): void {
    this.#policy = policy;
    this.#publish();
  }

  /** The peers changed: the rows follow their ids (nothing to do while nothing is enforced). */
  peersChanged(): void {
    if (this.#policy.enforcing || this.table.enforcing) this.#publish();
  }

  /** Dropped packets per policy rule (the default first), since each rule was loaded. */
  drops(): RuleDrops[] {
    return this.table.drops();
  }

  #publish(): void {
    this.table.publish(compileDevicePolicy(this.#policy, this.#peerId));
  }
}
