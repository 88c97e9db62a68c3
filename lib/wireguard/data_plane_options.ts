/**
 * How a data path (`data_plane.ts`) is set up, and the wasm memory it needs: the route lookup,
 * the events for the thread that owns handshakes, where a sealed message goes, the drop
 * counters, and the checks that the memory and tables fit before the first packet.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { KEY_SLOT_BYTES } from "../crypto/memory_layout.ts";
import { AEAD_NONCE_SIZE, MESSAGE_DATA_HEADER_SIZE } from "./constants.ts";
import type { DataPlaneState } from "./data_plane_state.ts";
import type { Endpoint } from "./endpoint.ts";

/** Room past a packet buffer's MTU for padding and the tag (at most 31), rounded up. */
const PACKET_SCRATCH_SLACK = 64;

/** Wasm memory a data path needs: a packet buffer and its private copy of a send key. */
export function dataPlaneScratchBytes(mtu: number): number {
  return packetScratchBytes(mtu) + KEY_SLOT_BYTES + 4; // + 4: room to align the key copy
}

/** The packet buffer in a data path's scratch (where staged packets are sealed). */
export function packetScratchBytes(mtu: number): number {
  return MESSAGE_DATA_HEADER_SIZE + mtu + PACKET_SCRATCH_SLACK;
}

/** Finds the peer that owns an address where it lies in a packet. */
export interface RouteLookup {
  /** Peer id owning the `length`-byte address at `offset` in `bytes`, or NONE. */
  peerAt(bytes: Uint8Array, offset: number, length: number): number;
}

/** What the data path asks of the thread that owns handshakes. */
export interface DataPlaneEvents {
  /** Peer `peer` needs a handshake: no usable session, or its keypair is due for a rekey. */
  wantHandshake(peer: number, now: number): void;
  /** The peer proved it holds responder keypair `keypair`: it may become current. */
  keypairConfirmed(peer: number, keypair: number, now: number): void;
}

/** Where `sealInPlace` says a sealed message goes (a DatagramSlot fits this shape). */
export interface SealedDestination {
  length: number;
  address: Uint8Array;
  port: number;
}

/** Why packets were dropped, counted per thread. */
export interface DataPathStats {
  transportDropped: number;
  replayedTransport: number;
  spoofedSource: number;
  noRoute: number;
}

/** How a data path is set up. */
export interface DataPlaneOptions {
  core: CryptoCore;
  state: DataPlaneState;
  routes: RouteLookup;
  events: DataPlaneEvents;
  /** Sends a datagram built outside the caller's batch (staged packets, keepalives). */
  send(bytes: Uint8Array, to: Endpoint): void;
  /** This thread's row in the traffic counters. */
  writer: number;
  mtu: number;
  /** 12 bytes of wasm memory this instance owns for nonces. */
  nonceAddress: number;
  /** `dataPlaneScratchBytes(mtu)` bytes of wasm memory this instance owns. */
  scratchAddress: number;
  stats: DataPathStats;
}

/** Throws RangeError when `options`' memory or tables cannot carry this data path. */
export function checkDataPlaneOptions(options: DataPlaneOptions): void {
  const keySlotBase = options.core.layout.keySlotBase;
  if ((keySlotBase & 3) !== 0) {
    throw new RangeError(`key slots at ${keySlotBase} are not 4-byte aligned`);
  }
  if (2 * options.state.dimensions.keypairs > options.core.layout.keySlots) {
    throw new RangeError(
      `${options.state.dimensions.keypairs} keypair records need ${
        2 * options.state.dimensions.keypairs
      } key slots; the memory has ${options.core.layout.keySlots}`,
    );
  }
  if (
    !Number.isInteger(options.writer) || options.writer < 0 ||
    options.writer >= options.state.dimensions.writers
  ) {
    throw new RangeError(
      `writer ${options.writer} has no traffic row (the tables have ${options.state.dimensions.writers})`,
    );
  }
  options.core.checkRange(options.nonceAddress, AEAD_NONCE_SIZE);
  options.core.checkRange(options.scratchAddress, dataPlaneScratchBytes(options.mtu));
}
