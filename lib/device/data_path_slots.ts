/**
 * A data path loop's buffers in its part of the packet arena, made once: the tx slots (each
 * behind room for a relay header), the rx slots (plain or 64 KB GRO slots), the super-packet
 * read area, and the per-slot views and source endpoints the loop reuses so that no packet
 * allocates.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { MESSAGE_DATA_HEADER_SIZE } from "../wireguard/constants.ts";
import { dataPlaneScratchBytes } from "../wireguard/data_plane.ts";
import type { Endpoint } from "../wireguard/endpoint.ts";
import { PacketSlot } from "./packet_io.ts";
import {
  GRO_SLOTS,
  groSlotBytes,
  NONCE_AREA_BYTES,
  receiveArenaBytes,
  SEAL_ROOM,
  slotBytesFor,
  SUPER_READ_BYTES,
  TX_HEADROOM,
  txSlotStride,
  WORKER_BATCH,
} from "./worker_layout.ts";
import { registerTxHeadroom } from "../relay/relay_socket.ts";
import { RELAY_HEADER_BYTES } from "../relay/relay_frame.ts";
import { VIRTUAL_PORT } from "../relay/relay_endpoints.ts";

/** One loop's buffers and views over its arena. */
export interface DataPathSlots {
  /** Where the data plane keeps its nonces, and its scratch space. */
  nonceAt: number;
  scratchAt: number;
  txSlots: PacketSlot[];
  rxSlots: PacketSlot[];
  /** Where a TUN packet is read into each tx slot: after the room for the transport header. */
  tunViews: Uint8Array[];
  rxPayloads: Uint8Array[];
  rxSourcesV4: Endpoint[];
  rxSourcesV6: Endpoint[];
  /** Where a relayed datagram's inner packet lies in each rx slot (behind two headers). */
  rxRelayedPayloads: Uint8Array[];
  /** The virtual source of a relayed datagram (written by the relay edge's `unwrapFrame`). */
  rxVirtualSources: Endpoint[];
  /** Where a vnet TUN read lands (header, then up to 64 KB), and where the arena goes on. */
  superView: Uint8Array;
  superEnd: number;
}

/** Lays out the buffers of a loop whose arena starts at `arenaAt` (`gro`: 64 KB rx slots). */
export function createDataPathSlots(
  core: CryptoCore,
  arenaAt: number,
  mtu: number,
  gro: boolean,
): DataPathSlots {
  const slotBytes = slotBytesFor(mtu);
  const nonceAt = arenaAt;
  const scratchAt = nonceAt + NONCE_AREA_BYTES;
  const txBase = scratchAt + dataPlaneScratchBytes(mtu);
  const txStride = txSlotStride(mtu);
  const rxBase = txBase + WORKER_BATCH * txStride;
  const slots = (base: number, count: number, bytes: number) =>
    Array.from(
      { length: count },
      (_, i) => new PacketSlot(core.bytes.subarray(base + i * bytes, base + (i + 1) * bytes)),
    );
  // Each tx slot sits TX_HEADROOM bytes into its region: a relay header goes there in place.
  const txSlots = Array.from({ length: WORKER_BATCH }, (_, i) => {
    const at = txBase + i * txStride + TX_HEADROOM;
    const slot = new PacketSlot(core.bytes.subarray(at, at + slotBytes));
    registerTxHeadroom(slot.view, core.bytes.subarray(at - RELAY_HEADER_BYTES, at + slotBytes));
    return slot;
  });
  const rxSlots = gro
    ? slots(rxBase, GRO_SLOTS, groSlotBytes(mtu))
    : slots(rxBase, WORKER_BATCH, slotBytes);
  const superAt = rxBase + receiveArenaBytes(mtu, gro);
  return {
    nonceAt,
    scratchAt,
    txSlots,
    rxSlots,
    tunViews: txSlots.map((slot) =>
      slot.view.subarray(MESSAGE_DATA_HEADER_SIZE, slotBytes - SEAL_ROOM)
    ),
    rxPayloads: rxSlots.map((slot) => slot.view.subarray(MESSAGE_DATA_HEADER_SIZE)),
    rxSourcesV4: rxSlots.map((slot) => ({ address: slot.address.subarray(12, 16), port: 0 })),
    rxSourcesV6: rxSlots.map((slot) => ({ address: slot.address, port: 0 })),
    rxRelayedPayloads: rxSlots.map((slot) =>
      slot.view.subarray(RELAY_HEADER_BYTES + MESSAGE_DATA_HEADER_SIZE)
    ),
    rxVirtualSources: rxSlots.map(() => ({ address: new Uint8Array(16), port: VIRTUAL_PORT })),
    superView: core.bytes.subarray(superAt, superAt + SUPER_READ_BYTES),
    superEnd: superAt + SUPER_READ_BYTES,
  };
}
