/** How much packet arena a data worker uses, shared by the worker and the device that sizes it. */

import { dataPlaneScratchBytes } from "../wireguard/data_plane.ts";
import { AUTH_TAG_SIZE, MESSAGE_PADDING_MULTIPLE } from "../wireguard/constants.ts";

/** Datagrams per recvmmsg/sendmmsg and TUN reads per loop iteration. */
export const WORKER_BATCH = 64;
/** Bytes before a data path's scratch (the main thread's and each worker's): its nonce, a cache line. */
export const NONCE_AREA_BYTES = 64;
/** Bytes past an inner packet that sealing may fill: up to 15 of padding, then the tag. */
export const SEAL_ROOM = MESSAGE_PADDING_MULTIPLE + AUTH_TAG_SIZE;
/**
 * Free bytes before each tx slot's datagram: the relay edge writes its 16-byte header there in
 * place (relay_socket.ts `registerTxHeadroom`) instead of moving the datagram to make room.
 */
export const TX_HEADROOM = 32;
/** Room in a slot beyond the MTU (transport header, padding, tag), a cache line to round to. */
const SLOT_OVERHEAD = 64;

/** Bytes of one packet slot for an MTU (the packet, its transport header, padding and tag). */
export function slotBytesFor(mtu: number): number {
  return Math.ceil((mtu + SLOT_OVERHEAD) / SLOT_OVERHEAD) * SLOT_OVERHEAD;
}

/**
 * Bytes a vnet TUN read, or a super-packet coalesced for a TUN write, may need: the 10-byte
 * virtio-net header and 64 KB, rounded to a cache line. Both are reserved whether or not the
 * offload is on (128 KB per worker).
 */
export const SUPER_READ_BYTES = 65_600;

/** Receive slots with UDP GRO on: each may hold up to 64 KB of one sender's datagrams. */
export const GRO_SLOTS = 16;
/** Bytes of one GRO receive slot: 64 KB, or one datagram of a larger MTU. */
export function groSlotBytes(mtu: number): number {
  return Math.max(65_536, slotBytesFor(mtu));
}

/** Bytes of the receive slots: a batch of MTU-sized ones, or GRO_SLOTS of 64 KB with GRO. */
export function receiveArenaBytes(mtu: number, receiveCoalescing: boolean): number {
  return receiveCoalescing ? GRO_SLOTS * groSlotBytes(mtu) : WORKER_BATCH * slotBytesFor(mtu);
}

/** Bytes of one tx slot's region: its headroom, then the slot. */
export function txSlotStride(mtu: number): number {
  return TX_HEADROOM + slotBytesFor(mtu);
}

/**
 * Bytes of packet arena one worker uses: a nonce, a scratch area, tx slots (each behind its
 * headroom) and rx slots, a TUN read and a coalescing buffer.
 */
export function workerArenaBytes(mtu: number, receiveCoalescing = false): number {
  return NONCE_AREA_BYTES + dataPlaneScratchBytes(mtu) + WORKER_BATCH * txSlotStride(mtu) +
    receiveArenaBytes(mtu, receiveCoalescing) + 2 * SUPER_READ_BYTES;
}
