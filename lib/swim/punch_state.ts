/**
 * What one node keeps for hole punching (punch.ts): per-member backoff, the bursts in flight
 * and their ping seqs, the newest request accepted per requester, and the rate limits. Its own
 * file so the node state can hold it without importing the protocol.
 */

import type { Address } from "./address.ts";
import type { Member } from "./member.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Bursts in flight at once (each holds one seq per candidate). */
export const MAX_BURSTS = 64;
/** Addresses one burst pings: the record's candidates and sources seen during the burst. */
export const MAX_BURST_ADDRESSES = 8;

/** Attempts a node starts per second (burst PUNCH_START_BURST). */
export const PUNCH_START_RATE = 1;
/** See PUNCH_START_RATE. */
export const PUNCH_START_BURST = 4;
/** Requests a node forwards per second as a rendezvous (burst twice that). */
export const PUNCH_FORWARD_RATE = 20;
/** Requests a node answers per second as a target (burst twice that). */
export const PUNCH_ANSWER_RATE = 10;
/** Members looked at per punch tick (the scan resumes where it stopped). */
export const SCAN_PER_TICK = 64;

/** Counters of the punch protocol (tests and `status`). */
export interface PunchStats {
  /** Requests we sent as the requester. */
  requested: number;
  /** Requests we forwarded as a rendezvous. */
  forwarded: number;
  /** Requests we accepted as the target. */
  answered: number;
  /** Punch pings sent (every candidate, every burst round). */
  pings: number;
  /** Paths proven by a punch ping's ack. */
  proven: number;
  /** Attempts skipped: no rendezvous with a proven path. */
  noRendezvous: number;
}

/** Backoff towards one member. */
export interface PairState {
  /** When the next attempt may start. */
  nextAttempt: number;
  /** Wait after that attempt. */
  backoff: number;
  /** The candidates the backoff is about (joined): new ones start over. */
  candidates: string;
}

/** One burst of punch pings towards a member. */
export interface Burst {
  /** Whom it pings. */
  member: Member;
  /** seq → candidate address it pings. */
  seqs: Map<number, Address>;
  /** Proven or over. */
  done: boolean;
}

/** A node's punch state: per-member backoff, bursts in flight, replay positions, rate limits. */
export class PunchState {
  /** Counters. */
  readonly stats: PunchStats = {
    requested: 0,
    forwarded: 0,
    answered: 0,
    pings: 0,
    proven: 0,
    noRendezvous: 0,
  };
  /** Nonce of our next request (grows within our epoch). */
  nonce = 0;
  /** Backoff per member id that lacks a proven path. */
  readonly pairs = new Map<string, PairState>();
  /** Punch ping seq → its burst. */
  readonly pings = new Map<number, Burst>();
  /** Active bursts by member id (one per member). */
  readonly bursts = new Map<string, Burst>();
  /** Newest (epoch, nonce) accepted per requester id: bounded by the trust set. */
  readonly accepted = new Map<string, { epoch: number; nonce: number }>();
  /** Where the member scan resumes. */
  cursor = 0;
  /** Attempts we start. */
  readonly startBucket = new TokenBucket(PUNCH_START_RATE, PUNCH_START_BURST);
  /** Requests we forward. */
  readonly forwardBucket = new TokenBucket(PUNCH_FORWARD_RATE, 2 * PUNCH_FORWARD_RATE);
  /** Requests we answer. */
  readonly answerBucket = new TokenBucket(PUNCH_ANSWER_RATE, 2 * PUNCH_ANSWER_RATE);
}
