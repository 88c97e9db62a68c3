/**
 * Protocol constants of the SWIM membership layer, named as the SWIM paper (Das, Gupta,
 * Motivala 2002) and the Lifeguard paper (Dadgar et al. 2017, memberlist) name them. The
 * per-profile tunables (intervals, multipliers) live in `profiles.ts`; these are the fixed ones.
 */

/** Version byte of every meshguard SWIM datagram (offset 1; never 0, see `wire_format.md`). */
export const SWIM_WIRE_VERSION = 1;

/** Magic at offsets 2..5: "mgsw". Offset 4 ('s' = 0x73) can never start STUN's 0x2112A442. */
export const SWIM_MAGIC = new Uint8Array([0x6d, 0x67, 0x73, 0x77]);

/** Largest datagram we ever build: fits the IPv6 minimum MTU (1280) minus IP/UDP headers. */
export const MAX_DATAGRAM_BYTES = 1200;

/** Length of the cleartext header every datagram starts with. */
export const HEADER_BYTES = 64;

/** Length of the Poly1305 tag that ends every encrypted datagram. */
export const AEAD_TAG_BYTES = 16;

/** Length of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;

/** Length of an Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;

/** Most endpoints a member may advertise in its signed record. */
export const MAX_ENDPOINTS = 4;

/** Message types (offset 0). Ping, PingReq and Ack keep the original meshguard codes. */
export const MessageType = {
  /** SWIM "ping": direct probe, answered by an Ack with the same sequence number. */
  Ping: 0x01,
  /** SWIM "ping-req": ask the receiver to probe a target on our behalf. */
  PingReq: 0x02,
  /** SWIM "ack": the probe target answered (directly or relayed by the ping-req helper). */
  Ack: 0x03,
  /** Lifeguard "nack": the ping-req helper is alive but the target did not answer it. */
  Nack: 0x04,
  /** Join request to a seed whose key we do not know yet: signed, not encrypted. */
  Hello: 0x05,
  /** Push-pull: a page of our signed records, asking for a page of the receiver's. */
  SyncRequest: 0x06,
  /** Push-pull answer: a page of signed records and the cursor of the next page. */
  SyncResponse: 0x07,
  /** Infection-style dissemination on its own (gossip timer, leave). */
  Gossip: 0x08,
} as const;

/** A message type code. */
export type MessageTypeCode = typeof MessageType[keyof typeof MessageType];

/** Kinds of piggybacked items (first byte of each item). */
export const ItemKind = {
  /** A member's own signed "alive" record (endpoints, NAT type, incarnation). */
  Alive: 1,
  /** A member's own signed graceful leave. */
  Leave: 2,
  /** A claim, signed by the claimer, that a third party is suspect. */
  Suspect: 3,
  /** A claim, signed by the claimer, that a third party is dead. */
  Dead: 4,
} as const;

/** A piggybacked item kind. */
export type ItemKindCode = typeof ItemKind[keyof typeof ItemKind];

/** Lifeguard: a ping-req helper sends its nack after this fraction of the probe timeout. */
export const NACK_TIMEOUT_FRACTION = 0.8;

/** Domain separation prefix of every signature made by the SWIM layer. */
export const SIGNATURE_CONTEXT = new TextEncoder().encode("meshguard swim record v1\0");

/** Domain separation prefix of the Hello header signature. */
export const HELLO_CONTEXT = new TextEncoder().encode("meshguard swim hello v1\0");

/** Domain separation prefix of the per-direction session key derivation. */
export const SESSION_KEY_CONTEXT = new TextEncoder().encode("meshguard swim session v1\0");
