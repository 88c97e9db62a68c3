/**
 * Who holds each mesh IPv4 address on this node, as settled from the claims (`ipv4_claims.ts`):
 * the decision per address with candidates, the contested addresses and the warning last logged
 * for each, and the `status` view of the conflicts. The peer table settles an address whenever
 * its candidates, record or pin change, and re-plans the peers there.
 */

import { decodeHex, encodeBase64 } from "../encoding/base64.ts";
import type { Ipv4Conflict } from "../control/control_protocol.ts";
import { describeConflict } from "../control/ipv4_conflict_text.ts";
import { Ipv4Claims, type Ipv4Decision } from "./ipv4_claims.ts";

/** The settled mesh IPv4 holders of one node. */
export class Ipv4Settlement {
  /** The candidates, records and pins the decisions are made from. */
  readonly claims: Ipv4Claims;
  readonly #selfIpv4: string;
  /** Settled addresses with at least one candidate → the outcome. */
  readonly #decisions = new Map<string, Ipv4Decision>();
  /** Contested addresses → the warning last logged for each. */
  readonly #contested = new Map<string, string>();
  /** Grows whenever an address was settled again (for caches built from the decisions). */
  #settled = 0;

  /** Settlement for the node at `selfIpv4`; `releaseAbsent` as in `Ipv4Claims`. */
  constructor(selfIpv4: string, releaseAbsent: boolean) {
    this.#selfIpv4 = selfIpv4;
    this.claims = new Ipv4Claims(selfIpv4, { releaseAbsent });
  }

  /** Grows whenever an address was settled again. */
  get version(): number {
    return this.#settled;
  }

  /** The key id (hex) holding `address` here, or null (nobody, or this node). */
  holder(address: string): string | null {
    return this.#decisions.get(address)?.holder ?? null;
  }

  /**
   * Decides `address` again (O(keys at it)); returns its candidates (the peers to re-plan) and
   * the warning to log when it is newly or differently contested. `nameOf` names a key id.
   */
  settle(
    address: string,
    nameOf: (id: string) => string,
  ): { contenders: string[]; warning: string | null } {
    this.#settled++;
    const contenders = this.claims.contenders(address);
    let decision: Ipv4Decision | null = null;
    if (contenders.length === 0 && address !== this.#selfIpv4) {
      this.#decisions.delete(address);
    } else {
      decision = this.claims.decide(address);
      this.#decisions.set(address, decision);
    }
    let warning: string | null = null;
    // Contested: a key here is denied its derived address (by another key or this node).
    if (decision !== null && contenders.some((id) => id !== decision.holder)) {
      const message = describeConflict(this.#conflict(address, nameOf));
      if (this.#contested.get(address) !== message) {
        this.#contested.set(address, message);
        warning = message;
      }
    } else {
      this.#contested.delete(address);
    }
    return { contenders, warning };
  }

  /** Every contested mesh IPv4 and who holds it here, by address (for `status`). */
  conflicts(nameOf: (id: string) => string): Ipv4Conflict[] {
    return [...this.#contested.keys()].sort().map((address) => this.#conflict(address, nameOf));
  }

  #conflict(address: string, nameOf: (id: string) => string): Ipv4Conflict {
    // Every contested address was settled (and so decided) when it became contested.
    const decision = this.#decisions.get(address)!;
    const keyOf = (id: string) => ({ name: nameOf(id), public_key: encodeBase64(decodeHex(id)) });
    return {
      mesh_ipv4: address,
      holder: decision.holder === null ? null : keyOf(decision.holder),
      reason: decision.reason,
      ipv6_only: this.claims.contenders(address).filter((id) => id !== decision.holder).map(
        keyOf,
      ),
    };
  }
}
