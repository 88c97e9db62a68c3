/**
 * The admission controller's core, sans-IO: request bodies and `now` in, answers (plain JSON
 * values) out; persistence through a synchronous `ControllerStore`, randomness injected.
 * Decisions are taken at each rotation, and at once for a node's first report.
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { MESH_IPV4_PREFIX, meshIpv4 } from "../identity/mesh_address.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import { checkReplay, checkSkew, ReportRateLimiter } from "./admission_limits.ts";
import type { AdmissionLimits } from "./admission_limits.ts";
import { parseReport } from "./benchmark_report.ts";
import { ControllerRequestError } from "./controller_error.ts";
import { ControllerMetrics } from "./controller_metrics.ts";
import type { ControllerStore, StoredDecision, StoredReport } from "./controller_store.ts";
import { type EpochRecord, followingEpoch } from "./epochs.ts";
import { legacyNodePsk, pairwisePsk, secretHash } from "./pairwise_psk.ts";
import { evaluateMembership, type Membership, type MembershipPolicy } from "./policy.ts";
import { verifyReportSignature } from "./report_signature.ts";
import { verifyRead } from "./request_auth.ts";
import { formatUtcSeconds, parseTimestampMicros } from "./timestamp.ts";

/** How a controller is set up. */
export interface ControllerOptions {
  /** Node id → its meshguard Ed25519 public key (null only with `allowUnsigned`). */
  nodes: ReadonlyMap<string, Uint8Array | null>;
  policy: MembershipPolicy;
  limits: AdmissionLimits;
  epochSeconds: number;
  /** Accept reports without a valid signature (compatibility with the PoC's agent). */
  allowUnsigned: boolean;
  store: ControllerStore;
  /** Fills epoch secrets (crypto.getRandomValues; tests seed it). */
  random: (bytes: Uint8Array) => void;
}

/** What a submission answers (the PoC's shape) and whether it was unsigned. */
export interface SubmitResult {
  body: { status: "received"; node_id: string; epoch_id: number };
  unsigned: boolean;
}

/** Keys of one epoch as `/v1/config` serves them. */
export interface EpochKeys {
  epoch_id: number;
  start_utc: string;
  expiry_utc: string;
  /** Allowed peer id → pairwise PSK (base64). */
  peer_psks: Record<string, string>;
}

/** A node's configuration (`GET /v1/config/{id}`): the PoC's fields plus pairwise keys. */
export interface NodeConfig {
  node_id: string;
  epoch_id: number;
  allowed: boolean | null;
  reason: string;
  expiry_utc: string;
  /** PoC compatibility only: a per-node key, unusable in a full mesh (ends differ). */
  psk_base64?: string;
  /** Allowed peer id → its meshguard public key (base64), so a node finds the WireGuard peer. */
  peer_keys?: Record<string, string>;
  peer_psks?: Record<string, string>;
  /** The next epoch's keys, served before it starts so links survive the rotation. */
  next_epoch?: EpochKeys;
}

/** The admission controller's state machine. */
export class ControllerCore {
  readonly metrics: ControllerMetrics = new ControllerMetrics();
  readonly #options: ControllerOptions;
  readonly #limiter: ReportRateLimiter;
  readonly #reports: Map<string, StoredReport>;
  readonly #decisions: Map<string, StoredDecision>;
  #current!: EpochRecord;
  #next: EpochRecord | null = null;

  /** Restores the epochs, reports and decisions of the store and brings the epoch up to now. */
  constructor(options: ControllerOptions, nowMs: number) {
    this.#options = options;
    this.#limiter = new ReportRateLimiter(options.limits);
    this.#reports = options.store.latestReports();
    this.#decisions = options.store.latestDecisions();
    for (const [id, stored] of this.#reports) {
      if (typeof stored.report.scores.overall === "number") {
        this.metrics.scores.set(id, stored.report.scores.overall);
      }
    }
    const [newest, older] = options.store.latestEpochs(2);
    if (newest === undefined) {
      this.#current = followingEpoch(null, nowMs, this.#lengthMs, options.random);
      this.#record(this.#current, nowMs, 0);
    } else if (older !== undefined && newest.startMs > nowMs && older.endMs > nowMs) {
      this.#current = older;
      this.#next = newest;
    } else {
      this.#current = newest;
    }
    this.tick(nowMs);
  }

  get #lengthMs(): number {
    return this.#options.epochSeconds * 1000;
  }

  /** The current epoch (tests). */
  get epoch(): Readonly<EpochRecord> {
    return this.#current;
  }

  /** When `tick` next has work: the current epoch's end, or when the next is drawn. */
  nextDeadline(): number {
    return this.#next === null ? this.#current.endMs - this.#earlyMs : this.#current.endMs;
  }

  get #earlyMs(): number {
    return this.#lengthMs / 2;
  }

  /** Rotates when the epoch ended and draws the next one early; true when it rotated. */
  tick(nowMs: number): boolean {
    let rotated = false;
    if (nowMs >= this.#current.endMs) {
      const started = performance.now();
      const previous = this.#next ?? this.#current;
      const promote = this.#next !== null && this.#next.endMs > nowMs;
      const epoch = promote
        ? this.#next!
        : followingEpoch(previous, nowMs, this.#lengthMs, this.#options.random);
      this.#next = null;
      this.#current = epoch;
      this.#evaluateAll(nowMs);
      this.#record(epoch, nowMs, (performance.now() - started) / 1000);
      rotated = true;
    }
    if (this.#next === null && nowMs >= this.#current.endMs - this.#earlyMs) {
      this.#next = followingEpoch(this.#current, nowMs, this.#lengthMs, this.#options.random);
      this.#options.store.saveEpoch(this.#next);
    }
    return rotated;
  }

  /** `POST /v1/rotate`: ends the current epoch now and starts the next. */
  rotateNow(nowMs: number): void {
    this.#current = { ...this.#current, endMs: nowMs };
    this.#options.store.saveEpoch(this.#current);
    this.#next = null;
    this.tick(nowMs);
  }

  #record(epoch: EpochRecord, nowMs: number, seconds: number): void {
    this.#options.store.saveEpoch(epoch);
    this.#options.store.appendAudit({
      atMs: nowMs,
      kind: "rotation",
      nodeId: null,
      detail: `epoch ${epoch.id} until ${formatUtcSeconds(epoch.endMs)} ${
        secretHash(epoch.secret)
      }`,
    });
    this.metrics.observeRotation(seconds);
  }

  #evaluateAll(nowMs: number): void {
    for (const nodeId of this.#options.nodes.keys()) this.#decide(nodeId, nowMs);
  }

  #decide(nodeId: string, nowMs: number): void {
    const stored = this.#reports.get(nodeId) ?? null;
    const decision = evaluateMembership(stored?.report ?? null, nowMs, this.#options.policy);
    const previous = this.#decisions.get(nodeId);
    const record: StoredDecision = { ...decision, epochId: this.#current.id, atMs: nowMs };
    this.#decisions.set(nodeId, record);
    this.#options.store.saveDecision(nodeId, record);
    this.#options.store.appendAudit({
      atMs: nowMs,
      kind: "decision",
      nodeId,
      detail: `epoch ${this.#current.id} ${decision.membership}: ${decision.reason}`,
    });
    if (previous?.membership !== decision.membership) {
      this.metrics.countChange(nodeId, decision.membership);
    }
  }

  /** `POST /v1/benchmarks/{id}`: validates, authenticates and stores a report. */
  submit(pathId: string, body: unknown, nowMs: number): SubmitResult {
    const known = this.#options.nodes.has(pathId);
    try {
      const result = this.#submit(pathId, body, nowMs);
      this.metrics.countSubmission(pathId, "accepted");
      return result;
    } catch (error) {
      if (error instanceof ControllerRequestError) {
        this.metrics.countSubmission(known ? pathId : "unknown", String(error.status));
      }
      throw error;
    }
  }

  #submit(pathId: string, body: unknown, nowMs: number): SubmitResult {
    const report = parseReport(body);
    if (report.node_id !== pathId) {
      throw new ControllerRequestError(
        400,
        `node_id mismatch: the body says "${report.node_id}", the path "${pathId}"`,
      );
    }
    const key = this.#requireNode(pathId);
    let unsigned = false;
    if (key !== null && report.signature !== undefined) {
      if (!verifyReportSignature(report, key)) {
        throw new ControllerRequestError(
          401,
          `bad signature: the report is not signed by ${pathId}'s configured identity`,
        );
      }
    } else if (this.#options.allowUnsigned) {
      unsigned = true;
    } else {
      throw new ControllerRequestError(
        401,
        `unsigned report from ${pathId}: sign it with the node's identity (meshguard up --controller), or start the controller with --allow-unsigned`,
      );
    }
    this.#limiter.take(pathId, nowMs);
    const micros = parseTimestampMicros(report.timestamp)!;
    checkSkew(micros, nowMs, this.#options.limits);
    checkReplay(micros, this.#reports.get(pathId)?.timestampMicros);
    const stored: StoredReport = { report, timestampMicros: micros, receivedMs: nowMs };
    this.#options.store.saveReport(stored);
    this.#reports.set(pathId, stored);
    this.metrics.scores.set(pathId, report.scores.overall ?? 0);
    if (
      !this.#decisions.has(pathId) ||
      this.#decisions.get(pathId)!.reason === "no benchmark submitted"
    ) {
      this.#decide(pathId, nowMs);
    }
    return {
      body: { status: "received", node_id: pathId, epoch_id: this.#current.id },
      unsigned,
    };
  }

  #requireNode(nodeId: string): Uint8Array | null {
    if (!this.#options.nodes.has(nodeId)) {
      throw new ControllerRequestError(
        404,
        `unknown node "${nodeId}": add it to the controller's --nodes file`,
      );
    }
    return this.#options.nodes.get(nodeId) ?? null;
  }

  /**
   * Checks that a read of `nodeId`'s keys (`/v1/config`, `/v1/peers`) is signed by that node
   * (see `request_auth.ts`); unsigned reads pass only with `allowUnsigned`. Throws 401/404.
   */
  authorizeRead(nodeId: string, header: string | null, path: string, nowMs: number): void {
    const key = this.#requireNode(nodeId);
    if ((header === null || key === null) && this.#options.allowUnsigned) return;
    if (key === null) {
      throw new ControllerRequestError(401, `${nodeId} has no identity key configured`);
    }
    verifyRead(header, nodeId, path, key, nowMs, this.#options.limits.skewSeconds);
  }

  /** A node's membership (UNKNOWN before its first decision). */
  membership(nodeId: string): Membership {
    return this.#decisions.get(nodeId)?.membership ?? "UNKNOWN";
  }

  /** `GET /v1/epoch`. */
  epochView(): {
    epoch_id: number;
    expiry_utc: string;
    secret_hash: string;
    nodes: Record<string, { membership: Membership; reason: string | null }>;
  } {
    const nodes: Record<string, { membership: Membership; reason: string | null }> = {};
    for (const id of this.#options.nodes.keys()) {
      nodes[id] = {
        membership: this.membership(id),
        reason: this.#decisions.get(id)?.reason ?? null,
      };
    }
    return {
      epoch_id: this.#current.id,
      expiry_utc: formatUtcSeconds(this.#current.endMs),
      secret_hash: secretHash(this.#current.secret),
      nodes,
    };
  }

  #allowedPeers(nodeId: string): string[] {
    return [...this.#options.nodes.keys()].filter((id) =>
      id !== nodeId && this.membership(id) === "ALLOWED"
    );
  }

  #keys(epoch: EpochRecord, nodeId: string, peers: string[]): EpochKeys {
    const psks: Record<string, string> = {};
    for (const peer of peers) {
      psks[peer] = encodeBase64(pairwisePsk(epoch.secret, epoch.id, nodeId, peer));
    }
    return {
      epoch_id: epoch.id,
      start_utc: formatUtcSeconds(epoch.startMs),
      expiry_utc: formatUtcSeconds(epoch.endMs),
      peer_psks: psks,
    };
  }

  /** `GET /v1/config/{id}`: a denied (or undecided) node gets no key at all. */
  config(nodeId: string): NodeConfig {
    this.#requireNode(nodeId);
    const decision = this.#decisions.get(nodeId);
    const config: NodeConfig = {
      node_id: nodeId,
      epoch_id: this.#current.id,
      allowed: decision === undefined ? null : decision.membership === "ALLOWED",
      reason: decision?.reason ?? "no membership decision",
      expiry_utc: formatUtcSeconds(this.#current.endMs),
    };
    if (config.allowed !== true) return config;
    config.psk_base64 = encodeBase64(legacyNodePsk(this.#current.secret, nodeId));
    const peers = this.#allowedPeers(nodeId);
    config.peer_keys = {};
    for (const peer of peers) {
      const key = this.#options.nodes.get(peer);
      if (key) config.peer_keys[peer] = encodeBase64(key);
    }
    config.peer_psks = this.#keys(this.#current, nodeId, peers).peer_psks;
    if (this.#next !== null) config.next_epoch = this.#keys(this.#next, nodeId, peers);
    return config;
  }

  /** `GET /v1/peers/{id}`: the allowed peers with their keys and mesh addresses. */
  peers(nodeId: string): {
    node_id: string;
    epoch_id: number;
    allowed_subnet: string;
    peers: {
      node_id: string;
      public_key: string;
      wireguard_public_key: string;
      tunnel_ip: string;
    }[];
  } {
    this.#requireNode(nodeId);
    const allowed = this.membership(nodeId) === "ALLOWED";
    const peers = [];
    for (const peer of allowed ? this.#allowedPeers(nodeId) : []) {
      const key = this.#options.nodes.get(peer);
      if (!key) continue;
      peers.push({
        node_id: peer,
        public_key: encodeBase64(key),
        wireguard_public_key: encodeBase64(wireguardPublicKeyOf(key)),
        tunnel_ip: meshIpv4(key),
      });
    }
    return {
      node_id: nodeId,
      epoch_id: this.#current.id,
      allowed_subnet: `${MESH_IPV4_PREFIX.address}/${MESH_IPV4_PREFIX.length}`,
      peers,
    };
  }

  /** status.json, as the proof of concept writes it (plus each node's recent scores). */
  status(withHistory = false): Record<string, unknown> {
    const nodes: Record<string, Record<string, unknown>> = {};
    for (const id of this.#options.nodes.keys()) {
      const decision = this.#decisions.get(id);
      const stored = this.#reports.get(id);
      const node: Record<string, unknown> = {
        membership: this.membership(id),
        last_update_utc: decision ? formatUtcSeconds(decision.atMs) : null,
      };
      if (stored) {
        node.last_benchmark = {
          overall: stored.report.scores.overall ?? 0,
          timestamp: stored.report.timestamp,
          suite_version: stored.report.suite_version,
        };
      }
      if (decision) node.reason = decision.reason;
      if (withHistory) node.history = this.#options.store.scoreHistory(id, 30);
      nodes[id] = node;
    }
    return {
      epoch: {
        id: this.#current.id,
        expiry_utc: formatUtcSeconds(this.#current.endMs),
        secret_hash: secretHash(this.#current.secret),
      },
      threshold: this.#options.policy.threshold,
      nodes,
    };
  }
}
