/**
 * A sans-IO STUN Binding client: which servers to ask, transactions with random 96-bit IDs,
 * retransmission, and what the answers say. Datagrams and `now` (ms) go in; datagrams to send
 * come out of `drainOutgoing`. The node sends them from the mesh socket itself, so the mapping
 * learnt is the one WireGuard and SWIM use.
 *
 * Timing: RFC 8489 §6.2.1's schedule (RTO 500 ms, doubling) but bounded so a refresh ends within
 * STUN_TRANSACTION_MS (4 sends at 0, 0.5, 1.5 and 3.5 s, given up at 4.5 s) instead of 39.5 s.
 * A round asks every server at once and ends when each answered or gave up; rounds start every
 * STUN_REFRESH_MS and on demand (`refreshNow`, e.g. when the local addresses changed).
 *
 * What is dropped (and counted): answers that fail the codec's checks (malformed), that carry an
 * ID we are not waiting for (unsolicited: late, duplicated or forged), or that come from another
 * address than the one the request went to (mismatched). An off-path attacker must guess 96
 * random bits to have an answer believed.
 */

import { encodeHex } from "../encoding/base64.ts";
import { type Endpoint, formatEndpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import {
  BINDING_ERROR,
  encodeBindingRequest,
  parseStunResponse,
  TRANSACTION_ID_BYTES,
} from "./stun_message.ts";

/** Initial retransmission timeout (RFC 8489's recommended minimum). */
export const STUN_RTO_MS = 500;
/** Requests sent per transaction (RFC 8489 says 7; bounded here so a refresh ends quickly). */
export const STUN_MAX_SENDS = 4;
/** How long the last request is waited for. */
export const STUN_LAST_WAIT_MS = 1_000;
/** A transaction's whole life: the sends' doubling timeouts, then the last wait. */
export const STUN_TRANSACTION_MS = STUN_RTO_MS * (2 ** (STUN_MAX_SENDS - 1) - 1) +
  STUN_LAST_WAIT_MS;
/** Time between refresh rounds (the "≤ 60 s"). */
export const STUN_REFRESH_MS = 60_000;
/** On-demand refreshes closer together than this are merged (a burst of address changes). */
export const STUN_MIN_REFRESH_GAP_MS = 1_000;
/** Servers asked per round, at most. */
export const STUN_MAX_SERVERS = 8;

/** What one server said in the latest round that asked it. */
export interface StunServerResult {
  /** The server, numeric `ip:port`. */
  server: string;
  /** Our address as it saw it (numeric `ip:port`), or null. */
  mapped: string | null;
  /** Round trip of the answered request (from its last send), or null. */
  rttMs: number | null;
  /** Why there is no mapped address ("timeout", "error 4xx"), or null. */
  error: string | null;
  /** When the transaction ended (ms, the caller's clock). */
  at: number;
}

/** Datagrams the client dropped, and what it sent (since creation). */
export interface StunClientCounters {
  requests: number;
  retransmissions: number;
  answers: number;
  timeouts: number;
  errorResponses: number;
  malformed: number;
  unsolicited: number;
  mismatched: number;
}

/** A datagram to send from the mesh socket. */
export interface StunOutgoing {
  to: string;
  data: Uint8Array;
}

/** How a client is made. */
export interface StunClientOptions {
  /** Fills its argument with random bytes (default: crypto.getRandomValues). */
  random?: (bytes: Uint8Array) => void;
  /** Called when the set of mapped endpoints changed (after a round). */
  onMappedEndpoints?: (endpoints: string[]) => void;
}

interface Transaction {
  server: string;
  request: Uint8Array;
  sends: number;
  lastSentAt: number;
  nextAt: number;
}

/** A STUN client over any number of servers; see the module comment. */
export class StunClient {
  readonly counters: StunClientCounters = {
    requests: 0,
    retransmissions: 0,
    answers: 0,
    timeouts: 0,
    errorResponses: 0,
    malformed: 0,
    unsolicited: 0,
    mismatched: 0,
  };
  readonly #random: (bytes: Uint8Array) => void;
  readonly #onMapped: StunClientOptions["onMappedEndpoints"];
  #servers: string[] = [];
  #pending = new Map<string, Transaction>();
  #outgoing: StunOutgoing[] = [];
  #results = new Map<string, StunServerResult>();
  #mapped: string[] = [];
  #nextRound = Infinity;
  #lastRound = -Infinity;
  #rounds = 0;

  constructor(options: StunClientOptions = {}) {
    this.#random = options.random ?? ((bytes) => crypto.getRandomValues(bytes));
    this.#onMapped = options.onMappedEndpoints;
  }

  /**
   * Sets the servers (numeric `ip:port`; at most STUN_MAX_SERVERS are used). A client that had
   * none starts a round at once; otherwise the next round uses the new list.
   */
  setServers(servers: string[], now: number): void {
    const normal = [...new Set(servers.map((server) => formatEndpoint(parseEndpoint(server))))]
      .slice(0, STUN_MAX_SERVERS);
    const hadNone = this.#servers.length === 0;
    this.#servers = normal;
    for (const server of this.#results.keys()) {
      if (!normal.includes(server)) this.#results.delete(server);
    }
    if (normal.length === 0) {
      this.#nextRound = Infinity;
    } else if (hadNone) {
      this.#nextRound = Math.min(this.#nextRound, now);
    }
  }

  /** The servers in use. */
  get servers(): readonly string[] {
    return this.#servers;
  }

  /** Asks every server again soon (local addresses changed, or `netcheck` asked). */
  refreshNow(now: number): void {
    if (this.#servers.length === 0) return;
    this.#nextRound = Math.min(
      this.#nextRound,
      Math.max(now, this.#lastRound + STUN_MIN_REFRESH_GAP_MS),
    );
  }

  /** True while a round waits for answers. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  /** Rounds completed since creation. */
  get rounds(): number {
    return this.#rounds;
  }

  /** When `tick` next has something to do (Infinity: nothing). */
  nextDeadline(): number {
    let next = this.#pending.size > 0 ? Infinity : this.#nextRound;
    for (const transaction of this.#pending.values()) next = Math.min(next, transaction.nextAt);
    return next;
  }

  /** Starts a due round, retransmits, gives up on transactions whose time ran out. */
  tick(now: number): void {
    if (this.#pending.size === 0 && now >= this.#nextRound) this.#startRound(now);
    for (const [id, transaction] of this.#pending) {
      if (now < transaction.nextAt) continue;
      if (transaction.sends >= STUN_MAX_SENDS) {
        this.#pending.delete(id);
        this.counters.timeouts++;
        this.#finish(transaction, { mapped: null, rttMs: null, error: "timeout" }, now);
        continue;
      }
      this.counters.retransmissions++;
      this.#send(transaction, now);
    }
  }

  /**
   * A STUN datagram that arrived on the mesh port from `from` (numeric `ip:port`). Returns true
   * when it answered one of our transactions.
   */
  receive(from: string, data: Uint8Array, now: number): boolean {
    const parsed = parseStunResponse(data);
    if (!parsed.ok) {
      this.counters.malformed++;
      return false;
    }
    const response = parsed.response;
    const id = encodeHex(response.transactionId);
    const transaction = this.#pending.get(id);
    if (transaction === undefined) {
      this.counters.unsolicited++;
      return false;
    }
    let source: string;
    try {
      source = formatEndpoint(parseEndpoint(from));
    } catch {
      this.counters.mismatched++;
      return false;
    }
    if (source !== transaction.server) {
      this.counters.mismatched++;
      return false;
    }
    this.#pending.delete(id);
    const rttMs = now - transaction.lastSentAt;
    if (response.type === BINDING_ERROR || response.mapped === null) {
      this.counters.errorResponses++;
      this.#finish(transaction, { mapped: null, rttMs, error: `error ${response.errorCode}` }, now);
    } else {
      this.counters.answers++;
      const mapped = formatEndpoint(response.mapped as Endpoint);
      this.#finish(transaction, { mapped, rttMs, error: null }, now);
    }
    return true;
  }

  /** Requests to send, in order; the list is emptied. */
  drainOutgoing(): StunOutgoing[] {
    const out = this.#outgoing;
    this.#outgoing = [];
    return out;
  }

  /** The latest result of every current server (servers not asked yet are absent). */
  results(): StunServerResult[] {
    return this.#servers.flatMap((server) => this.#results.get(server) ?? []);
  }

  /**
   * Our reflexive endpoints (numeric `ip:port`, distinct, sorted) from the latest answers: the
   * seam endpoint candidates are built from.
   */
  mappedEndpoints(): string[] {
    return this.#mapped;
  }

  #startRound(now: number): void {
    this.#lastRound = now;
    this.#nextRound = now + STUN_REFRESH_MS;
    for (const server of this.#servers) {
      const id = new Uint8Array(TRANSACTION_ID_BYTES);
      this.#random(id);
      const transaction: Transaction = {
        server,
        request: encodeBindingRequest(id),
        sends: 0,
        lastSentAt: now,
        nextAt: now,
      };
      this.#pending.set(encodeHex(id), transaction);
      this.counters.requests++;
      this.#send(transaction, now);
    }
  }

  #send(transaction: Transaction, now: number): void {
    transaction.sends++;
    transaction.lastSentAt = now;
    transaction.nextAt = now +
      (transaction.sends >= STUN_MAX_SENDS
        ? STUN_LAST_WAIT_MS
        : STUN_RTO_MS * 2 ** (transaction.sends - 1));
    this.#outgoing.push({ to: transaction.server, data: transaction.request });
  }

  #finish(
    transaction: Transaction,
    outcome: Pick<StunServerResult, "mapped" | "rttMs" | "error">,
    now: number,
  ): void {
    this.#results.set(transaction.server, { server: transaction.server, ...outcome, at: now });
    if (this.#pending.size > 0) return;
    this.#rounds++;
    const mapped = [
      ...new Set(this.results().flatMap((result) => result.mapped === null ? [] : [result.mapped])),
    ].sort();
    if (mapped.join(",") !== this.#mapped.join(",")) {
      this.#mapped = mapped;
      this.#onMapped?.(mapped);
    }
  }
}
