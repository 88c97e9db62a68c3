/**
 * Who answers to which mesh name on this node (security invariant 11: a newcomer never takes an
 * established member's name). A member's name is its certificate's node name under its org's
 * domain (`<name>.<orgdomain>.mesh`) when it has one, else the local trust name its key is
 * filed under (`<name>.mesh`), else, admitted by `--open`, `peer-<hex8>.mesh`. Two members can
 * claim one name (two certificates with one name, a trust file named like another member's
 * open name); then the earliest claim holds it: arrivals are ordered by `seq` (one step per
 * trust load and per new member, as for IPv4 claims), so a newcomer always arrives later and
 * loses. Claims that arrive together and tie (one trust load) leave the name to nobody rather
 * than to whichever key sorts first, which anyone could grind for. This node's own name is its
 * own whatever claims it. The holder a name went to is recorded (`name_holders` in the config
 * dir), so after a restart, when claims arrive in whatever order gossip brings them, it keeps
 * the name. Pure bookkeeping: no clock, no file, no socket.
 */

import { decodeHex, encodeHex } from "../encoding/base64.ts";
import { isDnsLabel } from "../trust/dns_label.ts";
import { RecordedHolders } from "./recorded_holders.ts";

/** The top-level zone every mesh name lives under. */
export const MESH_ZONE = "mesh";

/** Where a member's name comes from, best first (a certificate name, when the cert source lands). */
export interface NameSource {
  /** The local trust name (`authorized_keys/<name>.pub`), or null (admitted by `--open`). */
  trustName: string | null;
  /** The node name its org certificate carries, with the org's 6-hex domain. */
  certificate?: { name: string; orgDomain: string } | null;
}

/**
 * The fully qualified mesh name (lowercase, no trailing dot) for a member with key `publicKey`;
 * every label is checked, so nothing but DNS labels ever reaches the resolver.
 */
export function memberName(publicKey: Uint8Array, source: NameSource): string {
  const certificate = source.certificate;
  if (
    certificate && isDnsLabel(certificate.name) && /^[0-9a-f]{6}$/.test(certificate.orgDomain)
  ) {
    return `${certificate.name}.${certificate.orgDomain}.${MESH_ZONE}`;
  }
  if (source.trustName !== null && isDnsLabel(source.trustName)) {
    return `${source.trustName}.${MESH_ZONE}`;
  }
  return `peer-${encodeHex(publicKey).slice(0, 8)}.${MESH_ZONE}`;
}

/** This node's own name from its host name's first label, or null when that is not a label. */
export function ownNameFromHostname(hostname: string): string | null {
  const label = hostname.split(".")[0].toLowerCase();
  return isDnsLabel(label) ? `${label}.${MESH_ZONE}` : null;
}

/** Why a name went where it did (`holder-absent`: its recorded holder is away, under --open). */
export type NameReason = "own-name" | "first-claim" | "tied" | "holder-absent";

/** The outcome for one contested name: `holder` is the key id (hex) holding it, if any. */
export interface NameConflict {
  name: string;
  holder: string | null;
  reason: NameReason;
  /** The other claimants: they have no name on this node. */
  losers: string[];
}

interface Claim {
  name: string;
  seq: number;
  publicKey: Uint8Array;
}

/** The name table: each member's claim, the holder of every claimed name, warnings to log. */
export class MemberNames {
  readonly #selfId: string;
  readonly #selfName: string | null;
  /** Our own certificate's name (`<name>.<org6>.mesh`), answered like `selfName`; null: none. */
  #selfCertificateName: string | null = null;
  /** Name → the key id recorded as its holder. */
  readonly #records = new RecordedHolders((name) => this.#byName.has(name));
  /** Names whose claims changed since the last `settle`. */
  readonly #dirty = new Set<string>();
  /** Key id → its claim. */
  readonly #claims = new Map<string, Claim>();
  /** Name → ids claiming it. */
  readonly #byName = new Map<string, Set<string>>();
  /** Contested names → the last warning logged, so each outcome is logged once. */
  readonly #contested = new Map<string, string>();
  #notices: string[] = [];
  #version = 0;

  /** A table for the node with key `selfKey`, whose own name is `selfName` (null: none). */
  constructor(selfKey: Uint8Array, selfName: string | null) {
    this.#selfId = encodeHex(selfKey);
    this.#selfName = selfName;
  }

  /** Replaces the recorded holders (name → hex key id), e.g. from `name_holders` at start-up. */
  loadRecords(records: ReadonlyMap<string, string>): void {
    this.#records.load(records, [this.#selfName, this.#selfCertificateName]);
    this.#version++;
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

  /** This node's own name, or null. */
  get selfName(): string | null {
    return this.#selfName;
  }

  /** Our own certificate's name, or null. */
  get selfCertificateName(): string | null {
    return this.#selfCertificateName;
  }

  /**
   * Sets our own certificate's name (`node.cert` loaded or replaced; null: none). It is ours as
   * the host name is: a member claiming it gets no name here, and a recorded holder is forgotten.
   */
  setSelfCertificateName(name: string | null): void {
    const previous = this.#selfCertificateName;
    if (name === previous) return;
    this.#selfCertificateName = name;
    for (const changed of [previous, name]) {
      if (changed === null) continue;
      this.#records.delete(changed);
      this.#dirty.add(changed);
    }
    this.#version++;
    this.settle();
  }

  /** Grows on every change, so a reader can cache what it built from the table. */
  get version(): number {
    return this.#version;
  }

  /**
   * `publicKey` claims `name` from arrival `seq` on. The same claim again keeps its old arrival
   * (a member is not a newcomer to its own name); a different name is a new claim.
   */
  claim(publicKey: Uint8Array, name: string, seq: number): void {
    const id = encodeHex(publicKey);
    if (id === this.#selfId) return;
    const previous = this.#claims.get(id);
    if (previous?.name === name) return;
    // A key that now goes by another name gives its old one up for good.
    if (previous) this.release(publicKey, true);
    this.#claims.set(id, { name, seq, publicKey: publicKey.slice() });
    let ids = this.#byName.get(name);
    if (!ids) this.#byName.set(name, ids = new Set());
    ids.add(id);
    this.#version++;
    this.#dirty.add(name);
  }

  /**
   * `publicKey` no longer claims a name. `forget`: it is revoked or renamed, so the record that it
   * holds the name goes too; without, it is only away (an `--open` member that left) and nobody
   * else gets its name meanwhile.
   */
  release(publicKey: Uint8Array, forget = false): void {
    const id = encodeHex(publicKey);
    const claim = this.#claims.get(id);
    if (!claim) return;
    if (this.#records.get(claim.name) === id) {
      if (forget) this.#records.delete(claim.name);
      else this.#records.seen(claim.name);
    }
    this.#claims.delete(id);
    const ids = this.#byName.get(claim.name)!;
    ids.delete(id);
    if (ids.size === 0) this.#byName.delete(claim.name);
    this.#version++;
    this.#dirty.add(claim.name);
  }

  /**
   * Settles the names whose claims changed since the last call (call it after a batch of claims,
   * so claims that arrive together are seen together): records a new single earliest holder and
   * logs contested outcomes once.
   */
  settle(): void {
    for (const name of this.#dirty) {
      const { holder, reason } = this.decide(name);
      if (holder !== null && reason === "first-claim" && this.#records.get(name) !== holder) {
        this.#records.set(name, holder);
      }
      this.#note(name);
    }
    this.#dirty.clear();
  }

  /**
   * Forgets the records of holders not in `admitted` (hex ids): with trust as the member list,
   * the keys revoked while the daemon was down (their names are free again).
   */
  retain(admitted: ReadonlySet<string>): void {
    this.forgetWhere((id) => !admitted.has(id));
  }

  /** Forgets the records of holders `gone` names (hex ids): revoked, their names free again. */
  forgetWhere(gone: (id: string) => boolean): void {
    for (const [name, id] of this.#records.entries()) {
      if (!gone(id)) continue;
      this.#records.delete(name);
      this.#dirty.add(name);
      this.#version++;
    }
  }

  /**
   * Who holds `name` now: the node's own name is its own; then the recorded holder (while it is
   * away, nobody); then the single earliest claim; a tie: nobody.
   */
  decide(name: string): { holder: string | null; reason: NameReason } {
    if (name === this.#selfName || name === this.#selfCertificateName) {
      return { holder: this.#selfId, reason: "own-name" };
    }
    const ids = this.#byName.get(name);
    const recorded = this.#records.get(name);
    if (recorded !== undefined) {
      return ids?.has(recorded)
        ? { holder: recorded, reason: "first-claim" }
        : { holder: null, reason: "holder-absent" };
    }
    let first: string | null = null;
    let firstSeq = Infinity;
    let tied = false;
    for (const id of ids ?? []) {
      const seq = this.#claims.get(id)!.seq;
      if (seq < firstSeq) [first, firstSeq, tied] = [id, seq, false];
      else if (seq === firstSeq) tied = true;
    }
    if (tied) return { holder: null, reason: "tied" };
    return { holder: first, reason: "first-claim" };
  }

  /** The name `publicKey` holds on this node, or null (none claimed, or lost to another). */
  nameOf(publicKey: Uint8Array): string | null {
    const id = encodeHex(publicKey);
    if (id === this.#selfId) return this.#selfName;
    const claim = this.#claims.get(id);
    if (!claim) return null;
    return this.decide(claim.name).holder === id ? claim.name : null;
  }

  /** Every name held, with its holder's key (the resolver's forward table); self first. */
  *holders(): Generator<{ name: string; publicKey: Uint8Array }> {
    for (const own of [this.#selfName, this.#selfCertificateName]) {
      if (own !== null) yield { name: own, publicKey: decodeHex(this.#selfId) };
    }
    for (const name of this.#byName.keys()) {
      const { holder } = this.decide(name);
      if (holder === null || holder === this.#selfId) continue;
      yield { name, publicKey: this.#claims.get(holder)!.publicKey };
    }
  }

  /** Every contested name and its outcome, by name (for `status`), as last settled. */
  conflicts(): NameConflict[] {
    return [...this.#contested.keys()].sort().map((name) => this.#conflict(name));
  }

  /** Warnings about contested names since the last call (each outcome once). */
  drainNotices(): string[] {
    const notices = this.#notices;
    this.#notices = [];
    return notices;
  }

  #conflict(name: string): NameConflict {
    const { holder, reason } = this.decide(name);
    const ids = [...this.#byName.get(name) ?? []].sort();
    return { name, holder, reason, losers: ids.filter((id) => id !== holder) };
  }

  /** Logs a name whose outcome changed to or within contested (O(claims of that name)). */
  #note(name: string): void {
    const conflict = this.#conflict(name);
    if (conflict.losers.length === 0) {
      this.#contested.delete(name);
      return;
    }
    const message = describeNameConflict(conflict);
    if (this.#contested.get(name) === message) return;
    this.#contested.set(name, message);
    this.#notices.push(message);
  }
}

/** One line about a contested name, as logged and as `status` shows it. */
export function describeNameConflict(conflict: NameConflict): string {
  const short = (id: string) => `key ${id.slice(0, 16)}…`;
  const losers = conflict.losers.map(short).join(", ");
  switch (conflict.reason) {
    case "own-name":
      return `name ${conflict.name} is this node's own; ${losers} also claim it and get no name here`;
    case "holder-absent":
      return `name ${conflict.name} stays with its recorded holder, now away; ${losers} get no name here`;
    case "tied":
      return `name ${conflict.name} is claimed by ${losers}, which arrived together: nobody gets it here (rename one)`;
    default:
      return `name ${conflict.name} stays with ${
        short(conflict.holder!)
      }, which claimed it first; ${losers} get no name here`;
  }
}
