/**
 * A policy set compiled into one SharedArrayBuffer the data workers read per packet, like the
 * keypair tables of `wireguard/data_plane_state.ts`: a header (default, global rule range), one
 * row per device peer id (its peer-policy and org-policy rule ranges), the rules as four ints
 * each, and a drop counter per rule (index 0: the default). The main thread rewrites it under a
 * sequence lock when the files or the peers change; a worker that saw the sequence move while it
 * decided decides again, so it never acts on half a table. Deciding allocates nothing.
 */

import { formatRule, type PolicyAction, type PolicyFile } from "./policy_rules.ts";
import { POLICY_LIMITS } from "./policy_rules.ts";

const H_SEQUENCE = 0; // odd while the main thread rewrites the table
const H_ENFORCING = 1; // 0: nothing can be dropped, workers skip everything
const H_DEFAULT_ALLOW = 2;
const H_GLOBAL_START = 3;
const H_GLOBAL_COUNT = 4;
const HEADER_INTS = 8;
const ROW_INTS = 4; // peer rules start, count; org rules start, count
const RULE_INTS = 4; // flags, low port, high port, unused

const F_ALLOW = 1;
const F_TCP = 2;
const F_UDP = 4;
/** Any other IP protocol (only `all` rules cover it). */
const F_OTHER = 8;
const F_ANY_PORT = 16;

/** Rules the table holds: a global file, every peer file and every org file at their limits. */
export const MAX_POLICY_RULES = POLICY_LIMITS.rulesPerFile *
  (1 + POLICY_LIMITS.peerFiles + POLICY_LIMITS.orgFiles);

/** The files that apply to one device peer id. */
export interface PolicyRow {
  peer: PolicyFile | null;
  org: PolicyFile | null;
}

/** What the main thread publishes: the default, the global file, and rows by peer id. */
export interface CompiledPolicy {
  defaultAction: PolicyAction;
  global: PolicyFile | null;
  rows: Map<number, PolicyRow>;
  /** False when nothing can be dropped (allow default, no deny rule): the gate is skipped. */
  enforcing: boolean;
}

/** One rule's drop counter, as `status --json` lists it. */
export interface RuleDrops {
  /** `global.policy:3`, or `default`. */
  source: string;
  rule: string;
  drops: number;
}

/** The shared policy table, viewed from one thread. */
export class PolicyTable {
  readonly buffer: SharedArrayBuffer;
  readonly peers: number;
  private readonly ints: Int32Array;
  private readonly counters: Int32Array;
  private readonly rowsAt: number;
  private readonly rulesAt: number;
  /** Main thread only: what each counter counts (index 0 is the default). */
  private labels: { source: string; rule: string }[] = [{ source: "default", rule: "deny" }];

  private constructor(buffer: SharedArrayBuffer, peers: number) {
    this.buffer = buffer;
    this.peers = peers;
    this.rowsAt = HEADER_INTS;
    this.rulesAt = this.rowsAt + peers * ROW_INTS;
    const ints = this.rulesAt + MAX_POLICY_RULES * RULE_INTS;
    this.ints = new Int32Array(buffer, 0, ints);
    this.counters = new Int32Array(buffer, ints * 4, MAX_POLICY_RULES + 1);
  }

  /** Bytes a table for `peers` peer ids takes. */
  static byteLength(peers: number): number {
    return (HEADER_INTS + peers * ROW_INTS + MAX_POLICY_RULES * RULE_INTS + MAX_POLICY_RULES + 1) *
      4;
  }

  /** An empty table (allow everything, not enforcing) for `peers` peer ids. */
  static create(peers: number): PolicyTable {
    const table = new PolicyTable(new SharedArrayBuffer(PolicyTable.byteLength(peers)), peers);
    table.ints[H_DEFAULT_ALLOW] = F_ALLOW;
    return table;
  }

  /** The table another thread created (the buffer came by postMessage). */
  static attach(buffer: SharedArrayBuffer, peers: number): PolicyTable {
    return new PolicyTable(buffer, peers);
  }

  /** True when a packet may be dropped at all (workers skip the gate otherwise). */
  get enforcing(): boolean {
    return Atomics.load(this.ints, H_ENFORCING) === 1;
  }

  /**
   * Rewrites the table (main thread). Counters of rules that are still there (same file, line
   * and text) keep their counts; the others start at 0.
   */
  publish(policy: CompiledPolicy): void {
    const kept = new Map<string, number>();
    this.labels.forEach((label, i) => {
      kept.set(`${label.source} ${label.rule}`, Atomics.load(this.counters, i) >>> 0);
    });
    const labels: { source: string; rule: string }[] = [
      { source: "default", rule: policy.defaultAction },
    ];
    const placed = new Map<PolicyFile, number>();
    const ints = this.ints;
    const rulesAt = this.rulesAt;
    const place = (file: PolicyFile | null): [number, number] => {
      if (file === null) return [0, 0];
      const known = placed.get(file);
      if (known !== undefined) return [known, file.rules.length];
      const start = labels.length - 1;
      if (start + file.rules.length > MAX_POLICY_RULES) {
        throw new RangeError(`more than ${MAX_POLICY_RULES} policy rules`);
      }
      file.rules.forEach((rule, i) => {
        const at = rulesAt + (start + i) * RULE_INTS;
        let flags = rule.action === "allow" ? F_ALLOW : 0;
        if (rule.protocol !== "udp") flags |= F_TCP;
        if (rule.protocol !== "tcp") flags |= F_UDP;
        if (rule.protocol === "all") flags |= F_OTHER;
        if (rule.anyPort) flags |= F_ANY_PORT;
        ints[at] = flags;
        ints[at + 1] = rule.low;
        ints[at + 2] = rule.high;
        labels.push({ source: rule.source, rule: formatRule(rule) });
      });
      placed.set(file, start);
      return [start, file.rules.length];
    };
    Atomics.add(ints, H_SEQUENCE, 1);
    try {
      ints.fill(0, this.rowsAt, this.rulesAt);
      const [globalStart, globalCount] = place(policy.global);
      ints[H_GLOBAL_START] = globalStart;
      ints[H_GLOBAL_COUNT] = globalCount;
      ints[H_DEFAULT_ALLOW] = policy.defaultAction === "allow" ? F_ALLOW : 0;
      for (const [peer, row] of policy.rows) {
        if (peer < 0 || peer >= this.peers) continue;
        const at = this.rowsAt + peer * ROW_INTS;
        [ints[at], ints[at + 1]] = place(row.peer);
        [ints[at + 2], ints[at + 3]] = place(row.org);
      }
      for (let i = 0; i <= MAX_POLICY_RULES; i++) {
        const label = labels[i];
        const count = label === undefined ? 0 : kept.get(`${label.source} ${label.rule}`) ?? 0;
        Atomics.store(this.counters, i, count | 0);
      }
      Atomics.store(ints, H_ENFORCING, policy.enforcing ? 1 : 0);
    } finally {
      Atomics.add(ints, H_SEQUENCE, 1);
    }
    this.labels = labels;
  }

  /**
   * The verdict for peer id `peer`, IP protocol `protocol`, destination `port` (-1: none):
   * `(counter << 1) | allow`, where counter 0 is the default and r + 1 is rule r.
   */
  decide(peer: number, protocol: number, port: number): number {
    const ints = this.ints;
    const bit = protocol === 6 ? F_TCP : protocol === 17 ? F_UDP : F_OTHER;
    const row = this.rowsAt + peer * ROW_INTS;
    for (;;) {
      const sequence = Atomics.load(ints, H_SEQUENCE);
      if ((sequence & 1) === 1) continue;
      let found = this.scan(ints[row], ints[row + 1], bit, port);
      if (found < 0) found = this.scan(ints[row + 2], ints[row + 3], bit, port);
      if (found < 0) found = this.scan(ints[H_GLOBAL_START], ints[H_GLOBAL_COUNT], bit, port);
      const verdict = found < 0
        ? ints[H_DEFAULT_ALLOW] & F_ALLOW
        : ((found + 1) << 1) | (ints[this.rulesAt + found * RULE_INTS] & F_ALLOW);
      if (Atomics.load(ints, H_SEQUENCE) === sequence) return verdict;
    }
  }

  private scan(start: number, count: number, bit: number, port: number): number {
    // A torn read is retried by the caller; the bounds keep it from reading past the rules.
    if (count <= 0 || count > POLICY_LIMITS.rulesPerFile || start < 0) return -1;
    if (start + count > MAX_POLICY_RULES) return -1;
    const ints = this.ints;
    const withPort = port >= 0 && bit !== F_OTHER;
    for (let r = start, at = this.rulesAt + start * RULE_INTS; r < start + count; r++) {
      const flags = ints[at];
      if ((flags & bit) !== 0) {
        if ((flags & F_ANY_PORT) !== 0) return r;
        if (withPort && port >= ints[at + 1] && port <= ints[at + 2]) return r;
      }
      at += RULE_INTS;
    }
    return -1;
  }

  /** Counts a drop decided by `verdict` (any thread). */
  countDrop(verdict: number): void {
    Atomics.add(this.counters, verdict >>> 1, 1);
  }

  /** Every rule's drop counter, the default first (main thread). */
  drops(): RuleDrops[] {
    return this.labels.map((label, i) => ({
      source: label.source,
      rule: label.rule,
      drops: Atomics.load(this.counters, i) >>> 0,
    }));
  }
}
