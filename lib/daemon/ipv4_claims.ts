/**
 * Who holds a contested mesh IPv4 on this node (security invariant 11: a newcomer never
 * displaces an established member's address). BLAKE3 maps keys into a /16, so two keys can
 * share an address, and anyone can grind a key that does (about 65k tries). The first key this
 * node trusted or saw at an address holds it, and that choice is recorded so a restart keeps
 * it; only an administrator moves it, by pinning another key or revoking the holder. Pure
 * bookkeeping: keys are hex ids, `seq` orders arrivals, nothing here reads a clock or a file.
 */

import type { Ipv4Conflict, Ipv4ConflictReason } from "../control/control_protocol.ts";
import { decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { meshIpv4 } from "../identity/mesh_address.ts";
import { RecordedHolders } from "./recorded_holders.ts";

/** Why an address went where it did (the reasons `status` reports). */
export type Ipv4Reason = Ipv4ConflictReason;

/** The outcome for one address: `holder` is the key id that holds it, if any. */
export interface Ipv4Decision {
  holder: string | null;
  reason: Ipv4Reason;
}

/** Options of a claims table. */
export interface Ipv4ClaimsOptions {
  /**
   * True when candidates are the trust set (closed mode): a recorded holder that is no longer a
   * candidate was revoked, which releases its address. False under --open, where a holder that
   * is missing may just be restarting, so its record stays.
   */
  releaseAbsent: boolean;
}

/** The contested-address table: candidates per address, recorded holders and admin pins. */
export class Ipv4Claims {
  readonly #selfIpv4: string;
  readonly #releaseAbsent: boolean;
  /** Address → candidate id → arrival sequence (smaller arrived earlier). */
  readonly #candidates = new Map<string, Map<string, number>>();
  readonly #records = new RecordedHolders((address) => this.#candidates.has(address));
  #pins = new Map<string, string>();

  /** A table for a node whose own mesh IPv4 is `selfIpv4`. */
  constructor(selfIpv4: string, options: Ipv4ClaimsOptions) {
    this.#selfIpv4 = selfIpv4;
    this.#releaseAbsent = options.releaseAbsent;
  }

  /** Replaces the recorded holders (address → id), e.g. from `ipv4_holders` at start-up. */
  loadRecords(records: ReadonlyMap<string, string>): void {
    this.#records.load(records, [this.#selfIpv4]);
  }

  /** Replaces the admin pins (address → id); returns the addresses whose pin changed. */
  setPins(pins: ReadonlyMap<string, string>): string[] {
    const changed = new Set<string>();
    for (const [address, id] of pins) if (this.#pins.get(address) !== id) changed.add(address);
    for (const address of this.#pins.keys()) if (!pins.has(address)) changed.add(address);
    this.#pins = new Map(pins);
    return [...changed];
  }

  /** `id` competes for `address` from arrival `seq` on (a no-op when already competing). */
  add(id: string, address: string, seq: number): void {
    let ids = this.#candidates.get(address);
    if (!ids) this.#candidates.set(address, ids = new Map());
    if (!ids.has(id)) ids.set(id, seq);
  }

  /** `id` no longer competes for `address` (revoked, or removed from membership). */
  remove(id: string, address: string): void {
    const ids = this.#candidates.get(address);
    if (!ids) return;
    if (this.#records.get(address) === id) this.#records.seen(address);
    ids.delete(id);
    if (ids.size === 0) this.#candidates.delete(address);
  }

  /** The ids competing for `address`, earliest arrival first. */
  contenders(address: string): string[] {
    const ids = this.#candidates.get(address);
    if (!ids) return [];
    return [...ids].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
  }

  /**
   * Settles `address`: this node's own stays its own; a present pinned key wins; then the
   * recorded holder; with no (valid) record the single earliest arrival holds it and is
   * recorded. Costs O(contenders at this address).
   */
  decide(address: string): Ipv4Decision {
    if (address === this.#selfIpv4) return { holder: null, reason: "own-address" };
    const ids = this.#candidates.get(address);
    const pin = this.#pins.get(address);
    if (pin !== undefined && ids?.has(pin)) return { holder: pin, reason: "pinned" };
    const recorded = this.#records.get(address);
    if (recorded !== undefined) {
      if (ids?.has(recorded)) return { holder: recorded, reason: "first-seen" };
      if (!this.#releaseAbsent) return { holder: recorded, reason: "holder-absent" };
      this.#records.delete(address);
    }
    if (!ids || ids.size === 0) return { holder: null, reason: "first-seen" };
    let first: string | null = null;
    let firstSeq = Infinity;
    let tied = false;
    for (const [id, seq] of ids) {
      if (seq < firstSeq) [first, firstSeq, tied] = [id, seq, false];
      else if (seq === firstSeq) tied = true;
    }
    if (tied || first === null) return { holder: null, reason: "undecided" };
    this.#records.set(address, first);
    return { holder: first, reason: "first-seen" };
  }

  /** How many holders are recorded (bounded: see `RecordedHolders`). */
  get recordCount(): number {
    return this.#records.size;
  }

  /** True when the recorded holders changed since `takeChangedRecords` last returned them. */
  get recordsChanged(): boolean {
    return this.#records.changed;
  }

  /** Marks the records as changed again (saving them failed: the next change retries). */
  recordsNotSaved(): void {
    this.#records.notSaved();
  }

  /** The recorded holders when they changed since the last call (for saving), else null. */
  takeChangedRecords(): ReadonlyMap<string, string> | null {
    return this.#records.takeChanged();
  }
}

/** A trusted key for `settleTrustedKeys`; `seq` orders trust (default 0: the original set). */
export interface TrustedClaimant {
  name: string;
  publicKey: Uint8Array;
  seq?: number;
}

/**
 * Settles the trust store offline, as the daemon does at start-up (`config show`, `trust`):
 * every trusted key competes for its address, the records and pins decide, and this node's own
 * address (when it has an identity) stays its own. Returns the contested addresses, in order.
 */
export function settleTrustedKeys(
  ownKey: Uint8Array | null,
  trusted: TrustedClaimant[],
  records: ReadonlyMap<string, string>,
  pins: ReadonlyMap<string, string>,
): Ipv4Conflict[] {
  const claims = new Ipv4Claims(ownKey === null ? "" : meshIpv4(ownKey), { releaseAbsent: true });
  claims.loadRecords(records);
  claims.setPins(pins);
  const names = new Map<string, string>();
  const addresses = new Set<string>();
  for (const entry of trusted) {
    const id = encodeHex(entry.publicKey);
    const address = meshIpv4(entry.publicKey);
    names.set(id, entry.name);
    claims.add(id, address, entry.seq ?? 0);
    addresses.add(address);
  }
  const keyOf = (id: string) => ({
    name: names.get(id) ?? `peer-${id.slice(0, 8)}`,
    public_key: encodeBase64(decodeHex(id)),
  });
  const conflicts: Ipv4Conflict[] = [];
  for (const address of [...addresses].sort()) {
    const decision = claims.decide(address);
    const others = claims.contenders(address).filter((id) => id !== decision.holder);
    if (others.length === 0) continue;
    conflicts.push({
      mesh_ipv4: address,
      holder: decision.holder === null ? null : keyOf(decision.holder),
      reason: decision.reason,
      ipv6_only: others.map(keyOf),
    });
  }
  return conflicts;
}
