/**
 * WireGuard's protocol constants, named as the WireGuard paper (§6, "Timers & Stateless UX")
 * and the kernel's `messages.h` name them. Times are in milliseconds. Each says where it is
 * enforced; the timer and keypair-age rules are all in peer_timers.ts.
 */

/**
 * Noise protocol name, hashed into the initial chaining key (paper §5.4). Used in handshake.ts
 * initialChainingKeyAndHash.
 */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** Mixed into the initial hash (paper §5.4). Used in handshake.ts initialChainingKeyAndHash. */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/**
 * Prefix of the MAC1 key: HASH(LABEL_MAC1 ‖ receiver's static public key). Used in cookie.ts
 * (CookieChecker, CookieJar constructors).
 */
export const LABEL_MAC1 = "mac1----";
/**
 * Prefix of the cookie-reply encryption key: HASH(LABEL_COOKIE ‖ static public key). Used in
 * cookie.ts (CookieChecker, CookieJar constructors).
 */
export const LABEL_COOKIE = "cookie--";

/**
 * After this many messages under one keypair, the sender starts a new handshake. Only an upper
 * bound here: peer_timers.ts REKEY_AT_COUNTER takes the smaller SEND_COUNTER_LIMIT − 2^20, so the
 * rule that fires is rekeyAfterMessages (checked in data_plane.ts sealWith).
 */
export const REKEY_AFTER_MESSAGES = 1n << 60n;
/**
 * Send counters a keypair hands out at most in this implementation: they are kept in 32 bits so
 * every thread can take one with a single compare-and-swap. A keypair lives at most
 * REJECT_AFTER_TIME (180 s); reaching this would take 12 million packets a second. Enforced in
 * data_plane.ts sealWith (DataPlaneState.takeSendCounter refuses past it); peer_timers.ts
 * rekeyAfterMessages asks for a new handshake 2^20 counters before.
 */
export const SEND_COUNTER_LIMIT = 2 ** 31;
/**
 * A keypair is never used for more messages than this; defined with the replay window. Enforced
 * in the wasm core: wasm/src/replay.ts replayCheckCore (receive) and wasm/src/batch.ts
 * sealBatchCore (send; our sends stop far earlier, at SEND_COUNTER_LIMIT).
 */
export { COUNTER_WINDOW_SIZE, REJECT_AFTER_MESSAGES } from "../crypto/replay_window.ts";
/**
 * The initiator of a keypair starts a new handshake once it is this old. Enforced in
 * peer_timers.ts rekeyAfterTimeOnSend (checked in data_plane.ts sealWith).
 */
export const REKEY_AFTER_TIME = 120_000;
/**
 * A keypair this old is never used again. Enforced in peer_timers.ts rejectAfterTime (checked in
 * data_plane.ts sendingKeypair and openInPlace); also how long the daemon calls a tunnel up
 * after its last handshake (mesh_daemon.ts #pollHandshakes).
 */
export const REJECT_AFTER_TIME = 180_000;
/**
 * Give up retrying a handshake after this long. Enforced in peer_timers.ts giveUpHandshake (as
 * MAX_HANDSHAKE_RETRANSMISSIONS).
 */
export const REKEY_ATTEMPT_TIME = 90_000;
/**
 * Retry an unanswered initiation after this long (plus jitter). Enforced in peer_timers.ts
 * armRetransmitHandshake/retransmitHandshake and newHandshakeDeadline; it is also the least gap
 * between new initiations (engine_handshakes.ts initiate) and between handshake requests from
 * the data path (data_plane.ts requestHandshake).
 */
export const REKEY_TIMEOUT = 5_000;
/**
 * Upper bound of the random jitter added to REKEY_TIMEOUT (kernel: 1/3 s). Used in peer_timers.ts
 * armRetransmitHandshake.
 */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
/**
 * Send a keepalive when we received data but sent nothing for this long. Enforced in
 * peer_timers.ts sendKeepalive (and newHandshake, rekeyAfterTimeOnReceive).
 */
export const KEEPALIVE_TIMEOUT = 10_000;
/**
 * A cookie secret (and a received cookie) is good for this long. Enforced in cookie.ts
 * CookieChecker.cookieFor (rotation) and CookieJar.addMacs.
 */
export const COOKIE_SECRET_MAX_AGE = 120_000;
/**
 * Received cookies expire slightly before the responder rotates its secret. Enforced in cookie.ts
 * CookieJar.addMacs.
 */
export const COOKIE_SECRET_LATENCY = 5_000;
/**
 * Zero all key material of a peer after this long without a new handshake (3 × reject). Enforced
 * in peer_timers.ts zeroKeyMaterial (armed by armZeroKeyMaterial, giveUpHandshake).
 */
export const ZERO_KEYS_AFTER = REJECT_AFTER_TIME * 3;

/**
 * Initiations accepted per second from one source address under load (kernel ratelimiter).
 * Enforced in handshake_rate_limiter.ts HandshakeRateLimiter.allow; also sets the TAI64N
 * granularity (tai64n.ts).
 */
export const INITIATIONS_PER_SECOND = 20;
/**
 * Burst of initiations allowed from one source address. Enforced in handshake_rate_limiter.ts
 * HandshakeRateLimiter.allow.
 */
export const INITIATIONS_BURSTABLE = 5;
/**
 * Initiations closer than this from one peer are a flood (kernel: 1/50 s). Enforced in
 * engine_handshakes.ts consumeInitiation.
 */
export const MIN_INITIATION_INTERVAL = 20;
/**
 * Bound of the queue of handshake messages waiting for the (expensive) DH work. Enforced in
 * handshake_gate.ts enqueue and, for what workers forward, device/worker_forwarding.ts decide.
 */
export const MAX_QUEUED_INCOMING_HANDSHAKES = 4096;
/**
 * The device is "under load" while the queue is at least this full (kernel: 1/8). Enforced in
 * handshake_gate.ts next.
 */
export const UNDER_LOAD_QUEUE_LENGTH = MAX_QUEUED_INCOMING_HANDSHAKES / 8;
/** It stays under load this long after the queue drains. Enforced in handshake_gate.ts next. */
export const UNDER_LOAD_AFTER_TIME = 1_000;

/**
 * Message type numbers (first byte; the next three are zero). Written in handshake.ts
 * createInitiation, checked in consumeInitiation; the engine dispatches on them (engine_handshakes.ts).
 */
export const MESSAGE_HANDSHAKE_INITIATION = 1;
/** Handshake response. Written in handshake.ts createResponse, checked in consumeResponse. */
export const MESSAGE_HANDSHAKE_RESPONSE = 2;
/**
 * Cookie reply, sent instead of a response when under load. Written in cookie.ts
 * CookieChecker.createReply; engine_handshakes.ts handle takes it.
 */
export const MESSAGE_HANDSHAKE_COOKIE = 3;
/**
 * Transport data. Written in data_plane.ts sealWith, checked in data_plane.ts openInPlace (and in
 * transport.ts sealTransport/readTransportHeader, which only tests use).
 */
export const MESSAGE_DATA = 4;

/**
 * Sizes of the fixed messages, in bytes. Initiation: checked in handshake_gate.ts check and
 * handshake.ts consumeInitiation.
 */
export const MESSAGE_INITIATION_SIZE = 148;
/** Handshake response size. Checked in handshake_gate.ts check and handshake.ts consumeResponse. */
export const MESSAGE_RESPONSE_SIZE = 92;
/** Cookie reply size. Checked in engine_handshakes.ts handle and cookie.ts CookieJar.consumeReply. */
export const MESSAGE_COOKIE_REPLY_SIZE = 64;
/**
 * Transport header: type(4) receiver(4) counter(8). Laid out in data_plane.ts sealWith/openInPlace
 * and transport.ts.
 */
export const MESSAGE_DATA_HEADER_SIZE = 16;
/** Offset of the receiver index (u32 LE) in a transport message. */
export const MESSAGE_DATA_RECEIVER_OFFSET = 4;
/** Offset of the counter (u64 LE) in a transport message. */
export const MESSAGE_DATA_COUNTER_OFFSET = 8;
/** The transport AEAD's nonce: 4 zero bytes, then the counter (u64 LE) at NONCE_COUNTER_OFFSET. */
export const AEAD_NONCE_SIZE = 12;
/** Offset of the counter in the transport AEAD's nonce. */
export const NONCE_COUNTER_OFFSET = 4;
/**
 * Poly1305 tag length. Counted in data_plane.ts sealWith (wire length) and openInPlace (shortest
 * message).
 */
export const AUTH_TAG_SIZE = 16;
/** Plaintext is zero-padded to a multiple of this. Applied in transport.ts paddedLength. */
export const MESSAGE_PADDING_MULTIPLE = 16;
/**
 * Smallest transport message: a header and the tag of an empty (keepalive) payload. Checked in
 * transport.ts readTransportHeader, which only tests use; the live check, data_plane.ts
 * openInPlace, spells out the sum.
 */
export const MESSAGE_MINIMUM_LENGTH = MESSAGE_DATA_HEADER_SIZE + AUTH_TAG_SIZE;

/**
 * Length of a cookie and of MAC1/MAC2. Used in cookie.ts (MAC offsets, CookieJar.addMacs) and
 * noise_primitives.ts mac.
 */
export const COOKIE_LEN = 16;
/** XChaCha20 nonce length in a cookie reply. Used in cookie.ts CookieChecker.createReply. */
export const COOKIE_NONCE_LEN = 24;
/**
 * X25519 key length. Used in handshake.ts consumeInitiation/consumeResponse and
 * noise_primitives.ts.
 */
export const KEY_LEN = 32;
/** TAI64N timestamp length. Used in tai64n.ts and checked in handshake.ts consumeInitiation. */
export const TIMESTAMP_LEN = 12;
