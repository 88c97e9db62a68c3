/**
 * The node agent's keys, sans-IO: the epochs' pairwise PSKs learned from `/v1/config`, and
 * which peers are admitted at a given time. The next epoch's keys arrive before it starts and
 * take over at its start by the node's own clock, so allowed links keep their keys across a
 * rotation. When every known epoch has expired (controller unreachable) the node fails
 * closed: no peer is admitted — unless fail-open keeps the last keys.
 */

import { decodeBase64Strict } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";

/** A `/v1/config` answer that is not what the controller sends. */
export class ControllerConfigError extends MeshguardError {}

/** One epoch's keys for this node. */
interface KeySet {
  epochId: number;
  startMs: number;
  endMs: number;
  /** Peer's WireGuard public key (hex) → [its key, PSK]. */
  peers: Map<string, { wireguardKey: Uint8Array; psk: Uint8Array }>;
}

function utcMs(text: unknown, what: string): number {
  const ms = typeof text === "string" ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new ControllerConfigError(`config: ${what} is not a UTC time`);
  return ms;
}

function psk(text: unknown, peer: string): Uint8Array {
  if (typeof text !== "string") throw new ControllerConfigError(`config: no PSK for ${peer}`);
  const bytes = decodeBase64Strict(text, `PSK for ${peer}`);
  if (bytes.length !== 32) {
    throw new ControllerConfigError(`config: PSK for ${peer} is not 32 bytes`);
  }
  return bytes;
}

/** What the agent decides from its keys. */
export interface Admission {
  /** WireGuard public key → PSK of every admitted peer. */
  admitted: Map<Uint8Array, Uint8Array>;
  /** The epoch whose keys apply, or null (none: fail closed, or fail-open on stale keys). */
  epochId: number | null;
  /** Why nothing is admitted, for the log (null when keys apply). */
  reason: string | null;
}

/** The epochs' keys as the controller last served them. */
export class AgentKeys {
  #sets: KeySet[] = [];
  #allowed: boolean | null = null;
  #reason = "no answer from the controller yet";

  constructor(readonly failOpen: boolean) {}

  /** Takes a `/v1/config/{id}` answer; throws ControllerConfigError when it is malformed. */
  update(config: unknown): void {
    if (typeof config !== "object" || config === null) {
      throw new ControllerConfigError("config: not a JSON object");
    }
    const c = config as Record<string, unknown>;
    this.#allowed = c.allowed === true ? true : c.allowed === false ? false : null;
    this.#reason = typeof c.reason === "string" ? c.reason : "no reason given";
    if (this.#allowed !== true) {
      // Denied (or undecided): the controller gives no key; keep none.
      this.#sets = [];
      return;
    }
    const peerKeys = (c.peer_keys ?? {}) as Record<string, unknown>;
    const wireguardKeys = new Map<string, Uint8Array>();
    for (const [peer, key] of Object.entries(peerKeys)) {
      if (typeof key !== "string") throw new ControllerConfigError(`config: bad key for ${peer}`);
      wireguardKeys.set(peer, wireguardPublicKeyOf(parseEd25519PublicKey(key, `key of ${peer}`)));
    }
    const set = (epochId: unknown, start: unknown, end: unknown, psks: unknown): KeySet => {
      if (typeof epochId !== "number" || typeof psks !== "object" || psks === null) {
        throw new ControllerConfigError("config: epoch keys are malformed");
      }
      const peers = new Map<string, { wireguardKey: Uint8Array; psk: Uint8Array }>();
      for (const [peer, text] of Object.entries(psks)) {
        const wireguardKey = wireguardKeys.get(peer);
        if (wireguardKey === undefined) continue; // a peer listed without a key: not admitted
        peers.set(peer, { wireguardKey, psk: psk(text, peer) });
      }
      return {
        epochId,
        startMs: utcMs(start, "start_utc"),
        endMs: utcMs(end, "expiry_utc"),
        peers,
      };
    };
    const current = set(c.epoch_id, "1970-01-01T00:00:00Z", c.expiry_utc, c.peer_psks ?? {});
    const sets = [current];
    const next = c.next_epoch as Record<string, unknown> | undefined;
    if (next !== undefined) {
      sets.push(set(next.epoch_id, next.start_utc, next.expiry_utc, next.peer_psks));
      current.endMs = Math.min(current.endMs, sets[1].startMs);
    }
    this.#sets = sets;
  }

  /** The admitted peers at `nowMs`. */
  admission(nowMs: number): Admission {
    const live = this.#sets.find((set) => set.startMs <= nowMs && nowMs < set.endMs);
    const chosen = live ?? (this.failOpen ? this.#sets.at(-1) : undefined);
    if (chosen === undefined) {
      const reason = this.#allowed === true
        ? "the controller's keys expired (unreachable?): failing closed"
        : `not allowed: ${this.#reason}`;
      return { admitted: new Map(), epochId: null, reason };
    }
    const admitted = new Map<Uint8Array, Uint8Array>();
    for (const { wireguardKey, psk } of chosen.peers.values()) admitted.set(wireguardKey, psk);
    return { admitted, epochId: live ? chosen.epochId : null, reason: null };
  }

  /** When the admission next changes by time alone (an epoch starts or ends); Infinity: never. */
  nextChange(nowMs: number): number {
    let next = Infinity;
    for (const set of this.#sets) {
      if (set.startMs > nowMs) next = Math.min(next, set.startMs);
      if (set.endMs > nowMs) next = Math.min(next, set.endMs);
    }
    return next;
  }
}
