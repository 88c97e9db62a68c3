/** The engine's seams: its output sink, construction options and drop counters. */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import type { DataPlaneState } from "./data_plane_state.ts";
import type { Endpoint } from "./endpoint.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import type { TimerRule } from "./peer_timers.ts";

/** Where the engine's output goes. */
export interface EngineSink {
  /** Send a datagram to a peer endpoint. */
  sendDatagram(bytes: Uint8Array, to: Endpoint): void;
}

/** Engine construction options. */
export interface EngineOptions {
  primitives: NoisePrimitives;
  /** Supplies the replay windows (slot per receiving keypair). */
  core: CryptoCore;
  /** The static private key; omitted, the engine makes no handshakes until setPrivateKey. */
  privateKey?: Uint8Array;
  sink: EngineSink;
  now: number;
  /** Wall-clock ms for TAI64N; defaults to Date.now (tests pass a fake). */
  wallClock?: () => number;
  /** Uniform random in [0, 1) for timer jitter; defaults to Math.random. */
  random?: () => number;
  mtu?: number;
  /** 12 bytes of wasm memory for in-place nonces (default: the arena's first bytes). */
  nonceAddress?: number;
  /** `dataPlaneScratchBytes(mtu)` bytes of wasm memory (default: right after the nonce). */
  scratchAddress?: number;
  /**
   * The tables shared with data workers; by default the engine makes its own for `maxPeers`
   * peers and as many keypair records as the core's key slots allow.
   */
  state?: DataPlaneState;
  /** Peers the engine's own tables hold (default 256); ignored when `state` is given. */
  maxPeers?: number;
  /** What data workers must hear about (a device with workers sets this). */
  hooks?: EngineHooks;
  /** Told each time a timer rule fires (a debug log); the engine also counts them. */
  onTimerRule?: (rule: TimerRule, peerPublicKey: Uint8Array, now: number) => void;
}

/** Engine events that other threads' data paths must act on; none is per packet. */
export interface EngineHooks {
  /** Peer `peer` has a new keypair to send with: flush what waits for it. */
  sessionChanged(peer: number): void;
  /** Drop what waits for peer `peer`: its handshake was given up, or it was removed. */
  stagedDropped(peer: number): void;
}

/** Counters of what the engine dropped and why (for logs, `wg show`-like output and tests). */
export interface EngineStats {
  invalidMac: number;
  cookieRepliesSent: number;
  rateLimited: number;
  handshakeQueueFull: number;
  handshakeFailed: number;
  replayedInitiations: number;
  floodedInitiations: number;
  unknownPeer: number;
  transportDropped: number;
  replayedTransport: number;
  spoofedSource: number;
  noRoute: number;
  initiationsConsumed: number;
}

/** A zeroed stats record. */
export function emptyEngineStats(): EngineStats {
  return {
    invalidMac: 0,
    cookieRepliesSent: 0,
    rateLimited: 0,
    handshakeQueueFull: 0,
    handshakeFailed: 0,
    replayedInitiations: 0,
    floodedInitiations: 0,
    unknownPeer: 0,
    transportDropped: 0,
    replayedTransport: 0,
    spoofedSource: 0,
    noRoute: 0,
    initiationsConsumed: 0,
  };
}
