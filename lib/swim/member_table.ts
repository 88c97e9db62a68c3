/**
 * The member table: every trusted peer seen, by key (bounded), and the listed members kept in
 * a dense array for O(1) random picks and sync pages.
 */

import type { SwimState } from "./engine_state.ts";
import { Peer } from "./peer.ts";

/** Hard cap on peers (trusted keys seen); the trust set bounds it first. */
const MAX_PEERS = 65_536;

/** The peer for a trusted key, created on first sight; `owned` = `key` may be kept as is. */
export function peerFor(s: SwimState, key: Uint8Array, id: string, owned = false): Peer | null {
  let peer = s.peers.get(id);
  if (peer === undefined) {
    if (s.peers.size >= MAX_PEERS) return null;
    peer = new Peer(owned ? key : key.slice(), id);
    s.peers.set(id, peer);
  }
  return peer;
}

/** Lists a member and puts it into the current probe round. */
export function listAdd(s: SwimState, peer: Peer): void {
  if (peer.listIndex >= 0) return;
  peer.listIndex = s.list.length;
  s.list.push(peer);
  // New members go to a random place in the current round, as memberlist does.
  const order = s.probeOrder;
  const at = s.probeIndex + Math.floor(s.random() * (order.length - s.probeIndex + 1));
  order.push(peer);
  if (at < order.length - 1) [order[at], order[order.length - 1]] = [peer, order[at]];
}

/** Unlists a member (swap with the last, O(1)). */
export function listRemove(s: SwimState, peer: Peer): void {
  const index = peer.listIndex;
  if (index < 0) return;
  const last = s.list.pop()!;
  if (last !== peer) {
    s.list[index] = last;
    last.listIndex = index;
  }
  peer.listIndex = -1;
}

/** Up to `count` distinct random alive members other than `exclude`. */
export function randomMembers(s: SwimState, count: number, exclude: Peer | null): Peer[] {
  const out: Peer[] = [];
  const list = s.list;
  if (list.length === 0 || count <= 0) return out;
  for (let tries = 0; tries < count * 4 && out.length < count; tries++) {
    const peer = list[Math.floor(s.random() * list.length)];
    if (peer === exclude || peer.state !== "alive" || out.includes(peer)) continue;
    out.push(peer);
  }
  return out;
}
