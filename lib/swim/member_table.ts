/**
 * The member table: every trusted peer seen, by key (bounded), and the listed members kept in
 * a dense array for O(1) random picks and sync pages.
 */

import type { SwimState } from "./engine_state.ts";
import { Peer } from "./peer.ts";

/** Hard cap on peers (trusted keys seen); the trust set bounds it first. */
const MAX_PEERS = 65_536;

/** Forgotten peers whose session (replay windows, Hello position) we still remember. */
export const MAX_TOMBSTONES = 65_536;

/**
 * The peer for a trusted key, created on first sight (restored from its tombstone if we
 * forgot it, so nothing captured before is accepted again); `owned` = `key` may be kept.
 */
export function peerFor(s: SwimState, key: Uint8Array, id: string, owned = false): Peer | null {
  const peer = candidatePeer(s, key, id, owned);
  if (peer !== null) keepPeer(s, peer);
  return peer;
}

/**
 * Forgets a removed peer, keeping its session as a tombstone (issue 11, finding 4: a replay
 * window dropped with the peer let every captured datagram in again). The oldest tombstone
 * goes first when there are MAX_TOMBSTONES of them.
 */
export function forgetPeer(s: SwimState, peer: Peer): void {
  s.peers.delete(peer.id);
  s.dead.delete(peer);
  listRemove(s, peer);
  if (peer.session === null) return;
  s.tombstones.delete(peer.id);
  if (s.tombstones.size >= MAX_TOMBSTONES) {
    s.tombstones.delete(s.tombstones.keys().next().value!);
  }
  s.tombstones.set(peer.id, { session: peer.session, peerEpoch: peer.peerEpoch });
}

/**
 * The peer a not yet authenticated datagram claims to come from: the known one, or a new one
 * left out of the table until `keepPeer` (with `--open` every key is trusted, and forged
 * senders must not fill the table and lock real joiners out). Null when the table is full.
 */
export function candidatePeer(
  s: SwimState,
  key: Uint8Array,
  id: string,
  owned = false,
): Peer | null {
  const known = s.peers.get(id);
  if (known !== undefined) return known;
  if (s.peers.size >= MAX_PEERS) return null;
  const peer = new Peer(owned ? key : key.slice(), id);
  // A forgotten peer's session (its replay window) judges the datagram; the tombstone itself
  // stays until the datagram authenticated.
  const tombstone = s.tombstones.get(id);
  if (tombstone !== undefined) {
    peer.session = tombstone.session;
    peer.peerEpoch = tombstone.peerEpoch;
  }
  return peer;
}

/** Puts a peer from `candidatePeer` into the table once its datagram authenticated. */
export function keepPeer(s: SwimState, peer: Peer): void {
  if (s.peers.has(peer.id)) return;
  s.peers.set(peer.id, peer);
  s.tombstones.delete(peer.id);
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
