/**
 * The relay's forwarding decision (issue 13), sans-IO and allocation-free per datagram so it can
 * run on the data-plane workers: a frame comes in with its source address and `now`, and either
 * leaves rewritten in place towards the destination's proven address, or is dropped and counted.
 *
 * Who a sender is, without per-packet signatures: the source address must be a trusted member's
 * verified address here (proven by an authenticated SWIM ack, address_check.ts). The relay
 * forwards only to a trusted member's verified address, and only WireGuard datagrams, which the
 * destination authenticates end to end: the relay never holds the pair's keys, so it can drop or
 * delay but not read or forge. An outsider's frames are dropped ("untrusted"; a handshake
 * initiation first waits briefly, unforwarded, in case its sender is a member not proven yet:
 * relay_hold.ts); one spoofing a
 * member's address only spends that member's budget and reaches a WireGuard that discards it.
 * Each sender has a packet and a byte token bucket; at most `maxPairs` (sender, destination)
 * pairs are active, a pair idle for `pairIdleMs` giving its place to a new one.
 */

import { ByteKeyIndex } from "./byte_key_index.ts";
import { RELAY_FROM, RELAY_TO, relayFrameKindAt, SHORT_ID_BYTES } from "./relay_frame.ts";

/** How much a relay carries. */
export interface RelayLimits {
  /** Members the table holds at most. */
  maxMembers: number;
  /** Active (sender, destination) pairs at most. */
  maxPairs: number;
  /** Frames each sender may relay per second, and at once. */
  packetsPerSecond: number;
  packetBurst: number;
  /** Bytes each sender may relay per second, and at once. */
  bytesPerSecond: number;
  byteBurst: number;
  /** A pair unused this long (ms) no longer counts against maxPairs. */
  pairIdleMs: number;
}

/**
 * Defaults: a sender's bulk transfer at gigabit speed (the budgets bound one member's share of
 * the relay; below what a direct path carries, they would cap every relayed TCP flow instead).
 */
export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxMembers: 1024,
  maxPairs: 64,
  packetsPerSecond: 100_000,
  packetBurst: 10_000,
  bytesPerSecond: 125_000_000,
  byteBurst: 12_500_000,
  pairIdleMs: 60_000,
};

/** A trusted member as the relay sees it: its key and verified address (null: none proven). */
export interface RelayMemberEntry {
  /** The member's public key (its first 8 bytes are its short id). */
  key: Uint8Array;
  /** Its verified address as 16 bytes (IPv4-mapped for IPv4), or null. */
  ip: Uint8Array | null;
  /** Its verified port. */
  port: number;
}

/** The frame was rewritten and goes to destIp/destPort. */
export const RELAY_FORWARD = 0;
/** Not a well-formed TO_RELAY frame carrying a WireGuard datagram. */
export const RELAY_DROP_MALFORMED = 1;
/** The source address is no trusted member's verified address. */
export const RELAY_DROP_UNTRUSTED = 2;
/** The sender's packet or byte budget is spent. */
export const RELAY_DROP_RATE = 3;
/** The destination is unknown, the sender itself, or has no verified address. */
export const RELAY_DROP_NO_PATH = 4;
/** A new pair while maxPairs pairs are active. */
export const RELAY_DROP_PAIR_CAP = 5;
/** Verdict names, indexed by verdict (for counters and logs). */
export const RELAY_VERDICTS = ["forward", "malformed", "untrusted", "rate", "no-path", "pair-cap"];

/** An initiation held until the relay proves its sender's or destination's address (relay_hold.ts). */
export const RELAY_HELD = 0;
/** A held initiation forwarded once the addresses were proven. */
export const RELAY_HELD_RELEASED = 1;
/** A held initiation given up (too old, or pushed out by newer ones). */
export const RELAY_HELD_EXPIRED = 2;
/** Hold counter names, indexed as RELAY_HELD… (for status). */
export const RELAY_HOLD_COUNTERS = ["held", "released", "expired"];

const ADDRESS_KEY_BYTES = 18;

/** One active (sender, destination) pair: its last use and what it relayed. */
interface PairUse {
  last: number;
  packets: number;
  bytes: number;
}

/** One pair a relay serves, as `status` shows it (short ids in hex). */
export interface RelayPairStats {
  /** The sender's short id (first 8 bytes of its key), hex. */
  from: string;
  /** The destination's short id, hex. */
  to: string;
  /** Datagrams and bytes forwarded for this pair since it became active. */
  packets: number;
  bytes: number;
}

/** A relay table's counters: datagrams per verdict, bytes forwarded, the active pairs. */
export interface RelayTableStats {
  /** Datagrams per verdict, indexed as RELAY_VERDICTS (a held initiation is no drop). */
  counts: number[];
  /** Initiations held, released and expired, indexed as RELAY_HOLD_COUNTERS (absent: none). */
  holds?: number[];
  forwardedBytes: number;
  pairs: RelayPairStats[];
}

/** One relay's members, limits and counters. */
export class RelayTable {
  /** Where the last forwarded frame goes (valid after RELAY_FORWARD until the next call). */
  readonly destIp: Uint8Array = new Uint8Array(16);
  /** The last forwarded frame's destination port. */
  destPort = 0;
  /** Datagrams per verdict. */
  readonly counts: Float64Array = new Float64Array(RELAY_VERDICTS.length);
  /** Initiations held, released and expired (relay_hold.ts), indexed as RELAY_HOLD_COUNTERS. */
  readonly holds: Float64Array = new Float64Array(RELAY_HOLD_COUNTERS.length);
  /** Bytes forwarded. */
  forwardedBytes = 0;
  /** Grows with every setMembers (held frames are retried only after a change). */
  version = 0;

  /** The limits in force. */
  readonly limits: RelayLimits;
  /** The members last set (for copying the table to another thread). */
  members: readonly RelayMemberEntry[] = [];
  private readonly seed: number | undefined;
  private byId: ByteKeyIndex;
  private byAddress: ByteKeyIndex;
  private shortIds: Uint8Array;
  private addresses: Uint8Array;
  private ports: Int32Array;
  private packetTokens: Float64Array;
  private byteTokens: Float64Array;
  private refilledAt: Float64Array;
  private readonly addressKey = new Uint8Array(ADDRESS_KEY_BYTES);
  /** Active pairs: sender * maxMembers + destination → last use (ms) and counters. */
  private readonly pairs = new Map<number, PairUse>();

  /** An empty table (no member can relay until setMembers). */
  constructor(limits: Partial<RelayLimits> = {}, seed?: number) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...limits };
    this.seed = seed;
    this.byId = new ByteKeyIndex(SHORT_ID_BYTES, 1, seed);
    this.byAddress = new ByteKeyIndex(ADDRESS_KEY_BYTES, 1, seed);
    this.shortIds = new Uint8Array(0);
    this.addresses = new Uint8Array(0);
    this.ports = new Int32Array(0);
    this.packetTokens = new Float64Array(0);
    this.byteTokens = new Float64Array(0);
    this.refilledAt = new Float64Array(0);
  }

  /**
   * Replaces the trusted members (on membership or verified-address changes; not per packet).
   * Budgets and pairs of members that stay (same key) carry over; a member whose short id
   * collides with an earlier one's is left out (the relay cannot tell them apart).
   */
  setMembers(members: readonly RelayMemberEntry[]): void {
    this.members = members;
    this.version++;
    const n = Math.min(members.length, this.limits.maxMembers);
    const oldIds = this.shortIds;
    const oldById = this.byId;
    const oldPackets = this.packetTokens;
    const oldBytes = this.byteTokens;
    const oldRefilled = this.refilledAt;
    this.byId = new ByteKeyIndex(SHORT_ID_BYTES, n, this.seed);
    this.byAddress = new ByteKeyIndex(ADDRESS_KEY_BYTES, n, this.seed);
    this.shortIds = new Uint8Array(n * SHORT_ID_BYTES);
    this.addresses = new Uint8Array(n * 16);
    this.ports = new Int32Array(n).fill(-1);
    this.packetTokens = new Float64Array(n).fill(this.limits.packetBurst);
    this.byteTokens = new Float64Array(n).fill(this.limits.byteBurst);
    this.refilledAt = new Float64Array(n).fill(-Infinity);
    const renumber = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const { key, ip, port } = members[i];
      const id = key.subarray(0, SHORT_ID_BYTES);
      if (!this.byId.insert(id, i)) continue;
      this.shortIds.set(id, i * SHORT_ID_BYTES);
      const old = oldById.lookup(id);
      if (old >= 0 && sameId(oldIds, old, id)) {
        renumber.set(old, i);
        this.packetTokens[i] = oldPackets[old];
        this.byteTokens[i] = oldBytes[old];
        this.refilledAt[i] = oldRefilled[old];
      }
      if (ip === null) continue;
      this.addresses.set(ip, i * 16);
      this.addressKey.set(ip, 0);
      this.addressKey[16] = port >>> 8;
      this.addressKey[17] = port & 0xff;
      if (this.byAddress.insert(this.addressKey, i)) this.ports[i] = port;
    }
    const pairs = [...this.pairs];
    this.pairs.clear();
    const m = this.limits.maxMembers;
    for (const [pair, last] of pairs) {
      const from = renumber.get(Math.floor(pair / m));
      const to = renumber.get(pair % m);
      if (from !== undefined && to !== undefined) this.pairs.set(from * m + to, last);
    }
  }

  /** The counters and active pairs (status; not per packet: it allocates). */
  stats(): RelayTableStats {
    const m = this.limits.maxMembers;
    const hex = (i: number) => shortIdHex(this.shortIds, i);
    const pairs: RelayPairStats[] = [];
    for (const [pair, use] of this.pairs) {
      const from = Math.floor(pair / m);
      const to = pair % m;
      pairs.push({ from: hex(from), to: hex(to), packets: use.packets, bytes: use.bytes });
    }
    return {
      counts: [...this.counts],
      holds: [...this.holds],
      forwardedBytes: this.forwardedBytes,
      pairs,
    };
  }

  /** Active pairs (for status and tests). */
  get pairCount(): number {
    return this.pairs.size;
  }

  /**
   * Decides one frame from `fromIp` (16 bytes) : `fromPort` at `now` (ms). On RELAY_FORWARD the
   * frame's header has been rewritten in place (kind FROM, the sender's short id) and
   * destIp/destPort say where to send it; otherwise the frame is untouched.
   */
  relay(frame: Uint8Array, fromIp: Uint8Array, fromPort: number, now: number): number {
    return this.relayAt(frame, 0, frame.length, fromIp, fromPort, now);
  }

  /** As `relay`, for the frame at `bytes[at, at + length)` (a GRO segment: no view needed). */
  relayAt(
    bytes: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
    now: number,
  ): number {
    const verdict = this.decide(bytes, at, length, fromIp, fromPort, now);
    this.counts[verdict]++;
    return verdict;
  }

  /**
   * As `relay`, for a held frame offered again: a verdict that keeps it held (no path, unproven
   * sender) is not counted a second time; any other is counted as `relay` counts it.
   */
  retry(frame: Uint8Array, fromIp: Uint8Array, fromPort: number, now: number): number {
    const verdict = this.decide(frame, 0, frame.length, fromIp, fromPort, now);
    if (verdict !== RELAY_DROP_NO_PATH && verdict !== RELAY_DROP_UNTRUSTED) this.counts[verdict]++;
    return verdict;
  }

  /**
   * Moves a counted drop `verdict` (-1: none) to hold counter `hold`: the frame was held, not
   * dropped (or a held frame was released or given up).
   */
  counted(verdict: number, hold: number): void {
    if (verdict >= 0) this.counts[verdict]--;
    this.holds[hold]++;
  }

  private decide(
    bytes: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
    now: number,
  ): number {
    if (relayFrameKindAt(bytes, at, length) !== RELAY_TO) return RELAY_DROP_MALFORMED;
    const key = this.addressKey;
    for (let j = 0; j < 16; j++) key[j] = fromIp[j];
    key[16] = fromPort >>> 8;
    key[17] = fromPort & 0xff;
    const sender = this.byAddress.lookup(key);
    if (sender < 0) return RELAY_DROP_UNTRUSTED;
    if (!this.spend(sender, length, now)) return RELAY_DROP_RATE;
    const dest = this.byId.lookupAt(bytes, at + 8);
    if (dest < 0 || dest === sender || this.ports[dest] < 0) return RELAY_DROP_NO_PATH;
    const use = this.admitPair(sender * this.limits.maxMembers + dest, now);
    if (use === null) return RELAY_DROP_PAIR_CAP;
    use.packets++;
    use.bytes += length;
    bytes[at + 5] = RELAY_FROM;
    const ids = this.shortIds;
    for (let j = 0; j < SHORT_ID_BYTES; j++) bytes[at + 8 + j] = ids[sender * SHORT_ID_BYTES + j];
    const addresses = this.addresses;
    for (let j = 0; j < 16; j++) this.destIp[j] = addresses[dest * 16 + j];
    this.destPort = this.ports[dest];
    this.forwardedBytes += length;
    return RELAY_FORWARD;
  }

  /** Refills `sender`'s buckets to `now` and takes one packet and `bytes` bytes if both allow. */
  private spend(sender: number, bytes: number, now: number): boolean {
    const l = this.limits;
    const elapsed = Math.max(0, now - this.refilledAt[sender]);
    this.refilledAt[sender] = now;
    const packets = Math.min(
      l.packetBurst,
      this.packetTokens[sender] + elapsed * l.packetsPerSecond / 1000,
    );
    const octets = Math.min(
      l.byteBurst,
      this.byteTokens[sender] + elapsed * l.bytesPerSecond / 1000,
    );
    if (packets < 1 || octets < bytes) {
      this.packetTokens[sender] = packets;
      this.byteTokens[sender] = octets;
      return false;
    }
    this.packetTokens[sender] = packets - 1;
    this.byteTokens[sender] = octets - bytes;
    return true;
  }

  /** The pair's use when it is active or a place is free (an idle pair's, if need be). */
  private admitPair(pair: number, now: number): PairUse | null {
    const pairs = this.pairs;
    const use = pairs.get(pair);
    if (use !== undefined) {
      use.last = now;
      return use;
    }
    if (pairs.size < this.limits.maxPairs) return this.newPair(pair, now);
    // Full: only a new pair pays for this scan, at most maxPairs entries.
    for (const [other, idle] of pairs) {
      if (now - idle.last >= this.limits.pairIdleMs) {
        pairs.delete(other);
        return this.newPair(pair, now);
      }
    }
    return null;
  }

  private newPair(pair: number, now: number): PairUse {
    const use = { last: now, packets: 0, bytes: 0 };
    this.pairs.set(pair, use);
    return use;
  }
}

function shortIdHex(ids: Uint8Array, slot: number): string {
  let out = "";
  for (let j = 0; j < SHORT_ID_BYTES; j++) {
    out += ids[slot * SHORT_ID_BYTES + j].toString(16).padStart(2, "0");
  }
  return out;
}

function sameId(ids: Uint8Array, slot: number, id: Uint8Array): boolean {
  for (let j = 0; j < SHORT_ID_BYTES; j++) {
    if (ids[slot * SHORT_ID_BYTES + j] !== id[j]) return false;
  }
  return true;
}
