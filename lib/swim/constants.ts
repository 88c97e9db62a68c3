/**
 * Protocol constants of the SWIM membership layer, named as the SWIM paper (Das, Gupta,
 * Motivala 2002) and the Lifeguard paper (Dadgar et al. 2017, memberlist) name them. The
 * per-profile tunables (intervals, multipliers) live in `profiles.ts`; these are the fixed ones.
 * Each says where it is enforced.
 */

/**
 * Version byte of every meshguard SWIM datagram (offset 1; never 0, see `wire_format.md`). Written
 * in header.ts writeHeader, checked in header.ts readHeader/isSwimDatagram and
 * device/swim_precheck.ts plausibleSwimDatagram.
 */
export const SWIM_WIRE_VERSION = 1;

/**
 * Magic at offsets 2..5: "mgsw". Offset 4 ('s' = 0x73) can never start STUN's 0x2112A442. Written
 * in header.ts writeHeader, checked in header.ts readHeader/isSwimDatagram and
 * device/swim_precheck.ts plausibleSwimDatagram.
 */
export const SWIM_MAGIC = new Uint8Array([0x6d, 0x67, 0x73, 0x77]);

/**
 * Largest datagram we ever build: fits the IPv6 minimum MTU (1280) minus IP/UDP headers. Enforced
 * in message_body.ts itemBudget (what we build) and device/swim_precheck.ts plausibleSwimDatagram
 * (what a worker forwards).
 */
export const MAX_DATAGRAM_BYTES = 1200;

/**
 * Length of the cleartext header every datagram starts with. Checked in header.ts readHeader and
 * inbound.ts (the truncation check); laid out in datagram.ts and hello.ts.
 */
export const HEADER_BYTES = 64;

/**
 * Length of the Poly1305 tag that ends every encrypted datagram. Budgeted in message_body.ts
 * itemBudget and outbound.ts send; checked in device/swim_precheck.ts (inbound.ts writes it as a
 * bare 16).
 */
export const AEAD_TAG_BYTES = 16;

/** Length of an Ed25519 signature. Checked in records.ts readItem; laid out in records.ts. */
export const SIGNATURE_BYTES = 64;

/**
 * Length of an Ed25519 public key. Laid out in records.ts, message_body.ts and datagram.ts (the
 * AEAD's associated data).
 */
export const PUBLIC_KEY_BYTES = 32;

/**
 * Most endpoints a member may advertise in its signed record. Enforced in records.ts
 * makeAliveRecord (sending) and readItem (receiving); daemon/local_endpoints.ts picks at most this
 * many.
 */
export const MAX_ENDPOINTS = 4;

/**
 * Highest incarnation: the field is a u32, and a member never raises its incarnation past it
 * (a wrap would order its newest record below every older one). A new epoch is the way out.
 * Enforced in dissemination.ts reannounce and records.ts checkVersion.
 */
export const MAX_INCARNATION = 0xffff_ffff;

/**
 * Highest boot epoch (a u64 field, kept exact in a JS number). Enforced in records.ts checkVersion
 * and daemon/boot_epoch.ts.
 */
export const MAX_EPOCH = Number.MAX_SAFE_INTEGER;

/**
 * Message types (offset 0). Ping, PingReq and Ack keep the original meshguard codes. Checked in
 * header.ts readHeader; dispatched on in inbound.ts.
 */
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
  /**
   * A seed's answer to a Hello without a valid cookie: a cookie bound to the joiner's key,
   * epoch and source address, which the joiner's next Hello must carry (cleartext, smaller
   * than the Hello it answers).
   */
  HelloCookie: 0x09,
  /**
   * Hole punching: a punch request signed by the member that wants a direct path, sent to a
   * rendezvous and forwarded by it, as is, to the target (punch.ts, punch_request.ts).
   */
  Punch: 0x0a,
} as const;

/** A message type code. */
export type MessageTypeCode = typeof MessageType[keyof typeof MessageType];

/**
 * Kinds of piggybacked items (first byte of each item). Checked in records.ts readItem; applied in
 * membership_updates.ts.
 */
export const ItemKind = {
  /** A member's own signed "alive" record (endpoints, NAT type, incarnation). */
  Alive: 1,
  /** A member's own signed graceful leave. */
  Leave: 2,
  /** A claim, signed by the claimer, that a third party is suspect. */
  Suspect: 3,
  /** A claim, signed by the claimer, that a third party is dead. */
  Dead: 4,
  /**
   * An org control message (revocation or vouch, lib/org/org_messages.ts), signed by the org,
   * not by a member: membership carries it, the node verifies it against its trusted orgs.
   */
  OrgControl: 5,
} as const;

/** A piggybacked item kind. */
export type ItemKindCode = typeof ItemKind[keyof typeof ItemKind];

/**
 * Lifeguard: a ping-req helper sends its nack after this fraction of the probe timeout. Enforced
 * in probing.ts onPingReq.
 */
export const NACK_TIMEOUT_FRACTION = 0.8;

/**
 * Domain separation prefix of every signature made by the SWIM layer. Used in records.ts
 * signedPortion.
 */
export const SIGNATURE_CONTEXT = new TextEncoder().encode("meshguard swim record v1\0");

/**
 * Domain separation prefix of the Hello signature (v2: names its receiver, carries a cookie). Used
 * in hello.ts helloMessage.
 */
export const HELLO_CONTEXT = new TextEncoder().encode("meshguard swim hello v2\0");

/**
 * Length of a Hello cookie (a truncated HMAC-SHA256). Made and compared in hello_cookie.ts; laid
 * out in hello.ts.
 */
export const HELLO_COOKIE_BYTES = 16;

/**
 * How long a seed's cookie secret is used before the next one; the previous one still counts.
 * Enforced in hello_cookie.ts HelloCookies.#rotate.
 */
export const HELLO_COOKIE_SECRET_LIFETIME = 120_000;

/**
 * A joiner reuses a seed's cookie for this long before asking for a fresh one. Enforced in join.ts
 * sendHello.
 */
export const HELLO_COOKIE_REUSE = 60_000;

/**
 * Cookie-bearing Hellos verified per source address and second, and the burst allowed. Enforced in
 * hello_cookie.ts HelloCookies.takeSource.
 */
export const HELLO_SOURCE_RATE = 2;

/** See HELLO_SOURCE_RATE. Enforced in hello_cookie.ts HelloCookies.takeSource. */
export const HELLO_SOURCE_BURST = 4;

/**
 * Source addresses whose Hello rate a seed tracks at once (oldest forgotten first). Enforced in
 * hello_cookie.ts HelloCookies.takeSource.
 */
export const MAX_HELLO_SOURCES = 4_096;

/**
 * Domain separation prefix of the per-direction session key derivation. Used in swim_crypto.ts
 * createSwimCrypto.
 */
export const SESSION_KEY_CONTEXT = new TextEncoder().encode("meshguard swim session v1\0");
