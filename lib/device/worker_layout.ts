/** How much packet arena a data worker uses, shared by the worker and the device that sizes it. */

import { dataPlaneScratchBytes } from "../wireguard/data_plane.ts";

/** Datagrams per recvmmsg/sendmmsg and TUN reads per loop iteration. */
export const WORKER_BATCH = 64;

/** Bytes of one packet slot for an MTU (the packet, its transport header, padding and tag). */
export function slotBytesFor(mtu: number): number {
  return Math.ceil((mtu + 64) / 64) * 64;
}

/** Bytes of packet arena one worker uses: a nonce, a scratch area, and tx and rx batches. */
export function workerArenaBytes(mtu: number): number {
  return 64 + dataPlaneScratchBytes(mtu) + 2 * WORKER_BATCH * slotBytesFor(mtu);
}
