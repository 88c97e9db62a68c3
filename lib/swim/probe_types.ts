/**
 * What a probe in flight and a ping-req we serve keep. Their own module so the node state can
 * hold them without importing the probing logic (which imports the state: an import cycle).
 */

import type { Address } from "./address.ts";
import type { Member } from "./member.ts";

/** A probe we started. */
export interface Probe {
  /** Its sequence number. */
  seq: number;
  /** The member probed. */
  target: Member;
  /** Where our direct pings went (null if they went to two): a direct ack verifies it. */
  address: Address | null;
  /** Key ids of the helpers asked to ping-req it (null until one is: most probes are acked first). */
  helpers: Set<string> | null;
  /** Nacks heard from helpers. */
  nacks: number;
  /** An ack arrived (directly or relayed). */
  acked: boolean;
  /** Started out of turn (a claim about the target), counted in `expedited`. */
  expedited: boolean;
  /** When the first direct ping went (ms): an ack before the second one measures the RTT. */
  sentAt: number;
}

/** A ping-req we serve for someone else. */
export interface Relay {
  /** Who asked. */
  requester: Member;
  /** The requester's sequence number, echoed in our ack or nack. */
  requesterSeq: number;
  /** The member we ping on its behalf. */
  target: Member;
  /** Where our ping went: the target's ack verifies it. */
  address: Address | null;
  /** The target acked. */
  answered: boolean;
}
