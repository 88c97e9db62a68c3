/**
 * WireGuard's protocol constants, named as the WireGuard paper (§6, "Timers & Stateless UX")
 * and the kernel's `messages.h` name them. Times are in milliseconds.
 */

/** Noise protocol name, hashed into the initial chaining key (paper §5.4). */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** Mixed into the initial hash (paper §5.4). */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/** Prefix of the MAC1 key: HASH(LABEL_MAC1 ‖ receiver's static public key). */
export const LABEL_MAC1 = "mac1----";
/** Prefix of the cookie-reply encryption key: HASH(LABEL_COOKIE ‖ static public key). */
export const LABEL_COOKIE = "cookie--";

/** After this many messages under one keypair, the sender starts a new handshake. */
export const REKEY_AFTER_MESSAGES = 1n << 60n;
/**
 * Send counters a keypair hands out at most in this implementation: they are kept in 32 bits so
 * every thread can take one with a single compare-and-swap. A keypair lives at most
 * REJECT_AFTER_TIME (180 s); reaching this would take 12 million packets a second.
 */
export const SEND_COUNTER_LIMIT = 2 ** 31;
/** A keypair is never used for more messages than this; defined with the replay window. */
export { COUNTER_WINDOW_SIZE, REJECT_AFTER_MESSAGES } from "../crypto/replay_window.ts";
/** The initiator of a keypair starts a new handshake once it is this old. */
export const REKEY_AFTER_TIME = 120_000;
/** A keypair this old is never used again. */
export const REJECT_AFTER_TIME = 180_000;
/** Give up retrying a handshake after this long. */
export const REKEY_ATTEMPT_TIME = 90_000;
/** Retry an unanswered initiation after this long (plus jitter). */
export const REKEY_TIMEOUT = 5_000;
/** Upper bound of the random jitter added to REKEY_TIMEOUT (kernel: 1/3 s). */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
/** Send a keepalive when we received data but sent nothing for this long. */
export const KEEPALIVE_TIMEOUT = 10_000;
/** A cookie secret (and a received cookie) is good for this long. */
export const COOKIE_SECRET_MAX_AGE = 120_000;
/** Received cookies expire slightly before the responder rotates its secret. */
export const COOKIE_SECRET_LATENCY = 5_000;
/** Zero all key material of a peer after this long without a new handshake (3 × reject). */
export const ZERO_KEYS_AFTER = REJECT_AFTER_TIME * 3;

/** Initiations accepted per second from one source address under load (kernel ratelimiter). */
export const INITIATIONS_PER_SECOND = 20;
/** Burst of initiations allowed from one source address. */
export const INITIATIONS_BURSTABLE = 5;
/** Initiations closer than this from one peer are a flood (kernel: 1/50 s). */
export const MIN_INITIATION_INTERVAL = 20;
/** Bound of the queue of handshake messages waiting for the (expensive) DH work. */
export const MAX_QUEUED_INCOMING_HANDSHAKES = 4096;
/** The device is "under load" while the queue is at least this full (kernel: 1/8). */
export const UNDER_LOAD_QUEUE_LENGTH = MAX_QUEUED_INCOMING_HANDSHAKES / 8;
/** It stays under load this long after the queue drains. */
export const UNDER_LOAD_AFTER_TIME = 1_000;

/** Message type numbers (first byte; the next three are zero). */
export const MESSAGE_HANDSHAKE_INITIATION = 1;
/** Handshake response. */
export const MESSAGE_HANDSHAKE_RESPONSE = 2;
/** Cookie reply, sent instead of a response when under load. */
export const MESSAGE_HANDSHAKE_COOKIE = 3;
/** Transport data. */
export const MESSAGE_DATA = 4;

/** Sizes of the fixed messages, in bytes. */
export const MESSAGE_INITIATION_SIZE = 148;
/** Handshake response size. */
export const MESSAGE_RESPONSE_SIZE = 92;
/** Cookie reply size. */
export const MESSAGE_COOKIE_REPLY_SIZE = 64;
/** Transport header: type(4) receiver(4) counter(8). */
export const MESSAGE_DATA_HEADER_SIZE = 16;
/** Offset of the receiver index (u32 LE) in a transport message. */
export const MESSAGE_DATA_RECEIVER_OFFSET = 4;
/** Offset of the counter (u64 LE) in a transport message. */
export const MESSAGE_DATA_COUNTER_OFFSET = 8;
/** The transport AEAD's nonce: 4 zero bytes, then the counter (u64 LE) at NONCE_COUNTER_OFFSET. */
export const AEAD_NONCE_SIZE = 12;
/** Offset of the counter in the transport AEAD's nonce. */
export const NONCE_COUNTER_OFFSET = 4;
/** Poly1305 tag length. */
export const AUTH_TAG_SIZE = 16;
/** Plaintext is zero-padded to a multiple of this. */
export const MESSAGE_PADDING_MULTIPLE = 16;
/** Smallest transport message: a header and the tag of an empty (keepalive) payload. */
export const MESSAGE_MINIMUM_LENGTH = MESSAGE_DATA_HEADER_SIZE + AUTH_TAG_SIZE;

/** Length of a cookie and of MAC1/MAC2. */
export const COOKIE_LEN = 16;
/** XChaCha20 nonce length in a cookie reply. */
export const COOKIE_NONCE_LEN = 24;
/** X25519 key length. */
export const KEY_LEN = 32;
/** TAI64N timestamp length. */
export const TIMESTAMP_LEN = 12;
