/**
 * The engine's keypairs in shared memory: a keypair a handshake made goes into the core's key
 * slots (the JS copies wiped) and the shared keypair table, the peer's sending keypairs are
 * published to every thread, and a keypair let go is retired before its keys are cleared.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { replayReset } from "../crypto/replay_window.ts";
import { type DataPlaneState, NONE } from "./data_plane_state.ts";
import type { IndexTable } from "./index_table.ts";
import type { Keypair } from "./keypairs.ts";
import type { Peer } from "./peer.ts";
import { armZeroKeyMaterial } from "./peer_timers.ts";
import type { EngineHooks } from "./engine_types.ts";

/** A keypair as the index table names it. */
interface KeypairEntry {
  kind: "keypair";
  peer: Peer;
  keypair: Keypair;
}

/** Installs, publishes and releases one engine's keypairs. */
export class EngineKeypairs {
  readonly #core: CryptoCore;
  readonly #state: DataPlaneState;
  readonly #indices: IndexTable<Peer, Keypair>;
  readonly #hooks: EngineHooks | undefined;

  /** Keypairs in `core`'s key slots and `state`'s table, named by `indices`. */
  constructor(
    core: CryptoCore,
    state: DataPlaneState,
    indices: IndexTable<Peer, Keypair>,
    hooks: EngineHooks | undefined,
  ) {
    this.#core = core;
    this.#state = state;
    this.#indices = indices;
    this.#hooks = hooks;
  }

  /** A handshake completed with `peer`: its new keypair goes live (older ones may drop). */
  install(peer: Peer, keypair: Keypair, now: number): void {
    const k = keypair.id;
    // Keys go to the shared slots (2k receive, 2k+1 send); the JS copies are wiped at once.
    replayReset(this.#core, 2 * k);
    this.#core.setKey(2 * k, keypair.receiveKey);
    this.#core.setKey(2 * k + 1, keypair.sendKey);
    keypair.receiveKey.fill(0);
    keypair.sendKey.fill(0);
    this.#state.publishKeypair(k, {
      localIndex: keypair.localIndex,
      remoteIndex: keypair.remoteIndex,
      peer: peer.id,
      isInitiator: keypair.isInitiator,
      createdAt: keypair.createdAt,
    });
    const entry: KeypairEntry = { kind: "keypair", peer, keypair };
    this.#indices.replace(keypair.localIndex, entry);
    const dropped = peer.keypairs.install(keypair);
    this.publish(peer);
    for (const old of dropped) this.release(old);
    peer.lastHandshakeAt = now;
    armZeroKeyMaterial(peer, now);
  }

  /** Tells every thread which keypairs the peer sends with now. */
  publish(peer: Peer): void {
    const { current, next } = peer.keypairs;
    this.#state.setSendingKeypairs(peer.id, current?.id ?? NONE, next?.id ?? NONE);
    if (current !== null) this.#hooks?.sessionChanged(peer.id);
  }

  /** Lets a keypair go: retired, its keys cleared, its index freed. */
  release(keypair: Keypair): void {
    // Retired first: a thread still sealing with it sees the generation move and drops.
    this.#state.retireKeypair(keypair.id);
    this.#core.clearKey(2 * keypair.id);
    this.#core.clearKey(2 * keypair.id + 1);
    this.#indices.free(keypair.localIndex);
  }
}
