/**
 * The state the data path shares between threads, in one SharedArrayBuffer: per keypair the
 * indices, the owning peer, the age and the send counter (the keys themselves and the replay
 * windows live in the wasm core's key and replay slots 2k and 2k+1); per peer the keypairs to
 * send with, the endpoint, the activity timestamps the timers are derived from, and per-writer
 * traffic counters. The main thread (handshakes, timers, UAPI) writes the configuration; data
 * workers read it and write only counters, activity and roaming endpoints. Nothing here is a
 * message: a worker sees a new keypair the moment its generation is published.
 */

/** Sizes of the shared tables. */
export interface DataPlaneDimensions {
  /** Peers the device can hold (peer ids 0..peers-1). */
  peers: number;
  /** Keypair records, a power of two (record k uses key slots 2k and 2k+1). */
  keypairs: number;
  /** Threads that count traffic: writer 0 is the main thread, 1..n the data workers. */
  writers: number;
}

/** No keypair / no peer. */
export const NONE = -1;

const KEYPAIR_INTS = 8;
const KP_GENERATION = 0; // even = live, odd = retired or never used (starts at 1)
const KP_LOCAL_INDEX = 1;
const KP_REMOTE_INDEX = 2;
const KP_PEER = 3;
const KP_INITIATOR = 4;
const KP_COUNTER = 5;
const KP_CONFIRMED = 6;

const PEER_INTS = 16;
const PEER_CURRENT = 0;
const PEER_NEXT = 1;
const PEER_ENDPOINT_SEQ = 2; // odd while a writer changes the endpoint
const PEER_ENDPOINT_LOCK = 3;
const PEER_ENDPOINT_PORT = 4; // -1: no endpoint
const PEER_ENDPOINT_ADDRESS = 8; // four ints: the 16-byte (v4-mapped) address

const ACTIVITY_FLOATS = 8;
/** First transport data sent since the last authenticated receive (kernel: new-handshake). */
const ACT_FIRST_DATA_SENT = 0;
/** First transport data received since the last authenticated send (kernel: send-keepalive). */
const ACT_FIRST_DATA_RECEIVED = 1;
/** Last authenticated packet sent / received (persistent keepalive). */
const ACT_LAST_SENT = 2;
const ACT_LAST_RECEIVED = 3;
/** When a data worker last asked the main thread for a handshake with this peer. */
const ACT_HANDSHAKE_REQUESTED = 4;

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The shared tables, viewed from one thread. */
export class DataPlaneState {
  readonly buffer: SharedArrayBuffer;
  readonly dimensions: DataPlaneDimensions;
  /** `localIndex & indexMask` is the keypair record an index names. */
  readonly indexMask: number;
  private readonly keypairInts: Int32Array;
  private readonly keypairCreated: Float64Array;
  private readonly peerInts: Int32Array;
  private readonly peerBytes: Uint8Array;
  private readonly activity: Float64Array;
  private readonly traffic: Float64Array;

  private constructor(buffer: SharedArrayBuffer, dimensions: DataPlaneDimensions) {
    const { peers, keypairs, writers } = dimensions;
    this.buffer = buffer;
    this.dimensions = { ...dimensions };
    this.indexMask = keypairs - 1;
    let at = 0;
    this.keypairInts = new Int32Array(buffer, at, keypairs * KEYPAIR_INTS);
    at = align8(at + keypairs * KEYPAIR_INTS * 4);
    this.keypairCreated = new Float64Array(buffer, at, keypairs);
    at += keypairs * 8;
    this.peerInts = new Int32Array(buffer, at, peers * PEER_INTS);
    this.peerBytes = new Uint8Array(buffer, at, peers * PEER_INTS * 4);
    at = align8(at + peers * PEER_INTS * 4);
    this.activity = new Float64Array(buffer, at, peers * ACTIVITY_FLOATS);
    at += peers * ACTIVITY_FLOATS * 8;
    this.traffic = new Float64Array(buffer, at, writers * peers * 2);
  }

  /** Bytes the tables of `dimensions` take. */
  static byteLength({ peers, keypairs, writers }: DataPlaneDimensions): number {
    return align8(keypairs * KEYPAIR_INTS * 4) + keypairs * 8 +
      align8(peers * PEER_INTS * 4) + peers * ACTIVITY_FLOATS * 8 + writers * peers * 2 * 8;
  }

  /** Fresh tables: no keypair live, no peer with an endpoint or activity. */
  static create(dimensions: DataPlaneDimensions): DataPlaneState {
    const { peers, keypairs, writers } = dimensions;
    if (!Number.isInteger(keypairs) || keypairs < 2 || (keypairs & (keypairs - 1)) !== 0) {
      throw new RangeError(`keypair records must be a power of two >= 2, got ${keypairs}`);
    }
    if (!Number.isInteger(peers) || peers < 1 || !Number.isInteger(writers) || writers < 1) {
      throw new RangeError(`bad data-plane dimensions ${JSON.stringify(dimensions)}`);
    }
    const state = new DataPlaneState(
      new SharedArrayBuffer(DataPlaneState.byteLength(dimensions)),
      dimensions,
    );
    for (let k = 0; k < keypairs; k++) state.keypairInts[k * KEYPAIR_INTS + KP_GENERATION] = 1;
    for (let p = 0; p < peers; p++) state.resetPeer(p);
    return state;
  }

  /** The same tables as another thread made them (the buffer came by postMessage). */
  static attach(buffer: SharedArrayBuffer, dimensions: DataPlaneDimensions): DataPlaneState {
    return new DataPlaneState(buffer, dimensions);
  }

  // ─── keypairs (main thread publishes and retires; everyone reads) ───

  /** The keypair's generation: even while live; any change means it was retired or reused. */
  keypairGeneration(k: number): number {
    return Atomics.load(this.keypairInts, k * KEYPAIR_INTS + KP_GENERATION);
  }

  /**
   * Makes record `k` live for a new keypair. The caller has already written its keys to key
   * slots 2k (receive) and 2k+1 (send) and reset replay slot 2k; the generation goes even last,
   * so a reader that sees it live sees everything else too.
   */
  publishKeypair(
    k: number,
    fields: {
      localIndex: number;
      remoteIndex: number;
      peer: number;
      isInitiator: boolean;
      createdAt: number;
    },
  ): void {
    const base = k * KEYPAIR_INTS;
    const ints = this.keypairInts;
    if ((ints[base + KP_GENERATION] & 1) === 0) throw new RangeError(`keypair ${k} is live`);
    ints[base + KP_LOCAL_INDEX] = fields.localIndex | 0;
    ints[base + KP_REMOTE_INDEX] = fields.remoteIndex | 0;
    ints[base + KP_PEER] = fields.peer;
    ints[base + KP_INITIATOR] = fields.isInitiator ? 1 : 0;
    ints[base + KP_CONFIRMED] = 0;
    Atomics.store(ints, base + KP_COUNTER, 0);
    this.keypairCreated[k] = fields.createdAt;
    Atomics.add(ints, base + KP_GENERATION, 1);
  }

  /** Retires record `k`: readers that started before see the generation change and drop. */
  retireKeypair(k: number): void {
    const base = k * KEYPAIR_INTS + KP_GENERATION;
    if ((Atomics.load(this.keypairInts, base) & 1) === 0) Atomics.add(this.keypairInts, base, 1);
  }

  /** True when `localIndex` names live record `k`. */
  keypairMatches(k: number, localIndex: number): boolean {
    return this.keypairInts[k * KEYPAIR_INTS + KP_LOCAL_INDEX] === (localIndex | 0);
  }

  /** The peer id of keypair `k`. */
  keypairPeer(k: number): number {
    return this.keypairInts[k * KEYPAIR_INTS + KP_PEER];
  }

  /** The index the peer chose for keypair `k` (the receiver field of what we send). */
  keypairRemoteIndex(k: number): number {
    return this.keypairInts[k * KEYPAIR_INTS + KP_REMOTE_INDEX] >>> 0;
  }

  /** True when we initiated the handshake of keypair `k`. */
  keypairIsInitiator(k: number): boolean {
    return this.keypairInts[k * KEYPAIR_INTS + KP_INITIATOR] === 1;
  }

  /** When keypair `k`'s handshake completed. */
  keypairCreatedAt(k: number): number {
    return this.keypairCreated[k];
  }

  /**
   * Takes the next send counter of keypair `k`, or -1 when `limit` counters were taken. A
   * compare-and-swap, not an add: a counter past the limit is never handed out, so no nonce can
   * repeat however many threads keep trying.
   */
  takeSendCounter(k: number, limit: number): number {
    const at = k * KEYPAIR_INTS + KP_COUNTER;
    const ints = this.keypairInts;
    for (;;) {
      const counter = Atomics.load(ints, at);
      if (counter >>> 0 >= limit) return -1;
      if (Atomics.compareExchange(ints, at, counter, (counter + 1) | 0) === counter) {
        return counter >>> 0;
      }
    }
  }

  /** Counters taken so far from keypair `k`. */
  sendCounter(k: number): number {
    return Atomics.load(this.keypairInts, k * KEYPAIR_INTS + KP_COUNTER) >>> 0;
  }

  /** Marks keypair `k` confirmed; true for the one caller that made the change. */
  confirmKeypair(k: number): boolean {
    return Atomics.compareExchange(this.keypairInts, k * KEYPAIR_INTS + KP_CONFIRMED, 0, 1) === 0;
  }

  /** True once a packet authenticated under keypair `k`. */
  keypairConfirmed(k: number): boolean {
    return Atomics.load(this.keypairInts, k * KEYPAIR_INTS + KP_CONFIRMED) === 1;
  }

  // ─── peers ───

  /** Forgets everything about peer id `p` (a fresh or removed peer). */
  resetPeer(p: number): void {
    const base = p * PEER_INTS;
    Atomics.store(this.peerInts, base + PEER_CURRENT, NONE);
    Atomics.store(this.peerInts, base + PEER_NEXT, NONE);
    this.setEndpoint(p, null, 0);
    this.activity.fill(NaN, p * ACTIVITY_FLOATS, (p + 1) * ACTIVITY_FLOATS);
    for (let w = 0; w < this.dimensions.writers; w++) {
      const at = (w * this.dimensions.peers + p) * 2;
      this.traffic[at] = 0;
      this.traffic[at + 1] = 0;
    }
  }

  /** Publishes the keypairs peer `p` sends with: `current`, or `next` once it is confirmed. */
  setSendingKeypairs(p: number, current: number, next: number): void {
    Atomics.store(this.peerInts, p * PEER_INTS + PEER_NEXT, next);
    Atomics.store(this.peerInts, p * PEER_INTS + PEER_CURRENT, current);
  }

  /** Peer `p`'s current keypair record, or NONE. */
  currentKeypair(p: number): number {
    return Atomics.load(this.peerInts, p * PEER_INTS + PEER_CURRENT);
  }

  /** Peer `p`'s unconfirmed (responder) keypair record, or NONE. */
  nextKeypair(p: number): number {
    return Atomics.load(this.peerInts, p * PEER_INTS + PEER_NEXT);
  }

  /** Changes whenever peer `p`'s endpoint does; even when stable. */
  endpointSequence(p: number): number {
    return Atomics.load(this.peerInts, p * PEER_INTS + PEER_ENDPOINT_SEQ);
  }

  /**
   * Copies peer `p`'s endpoint address into `address` (16 bytes) and returns its port, or -1
   * when it has none. Retries while a writer is changing it (a sequence lock).
   */
  readEndpoint(p: number, address: Uint8Array): number {
    const base = p * PEER_INTS;
    const seqAt = base + PEER_ENDPOINT_SEQ;
    for (;;) {
      const before = Atomics.load(this.peerInts, seqAt);
      if ((before & 1) === 1) continue;
      const byteAt = (base + PEER_ENDPOINT_ADDRESS) * 4;
      address.set(this.peerBytes.subarray(byteAt, byteAt + 16));
      const port = Atomics.load(this.peerInts, base + PEER_ENDPOINT_PORT);
      if (Atomics.load(this.peerInts, seqAt) === before) return port;
    }
  }

  /** Sets peer `p`'s endpoint (null: none). Any thread may call it: writers take a spinlock. */
  setEndpoint(p: number, address: Uint8Array | null, port: number): void {
    const base = p * PEER_INTS;
    const ints = this.peerInts;
    while (Atomics.compareExchange(ints, base + PEER_ENDPOINT_LOCK, 0, 1) !== 0) {
      // Another thread is writing 20 bytes; it is done in nanoseconds.
    }
    Atomics.add(ints, base + PEER_ENDPOINT_SEQ, 1);
    const byteAt = (base + PEER_ENDPOINT_ADDRESS) * 4;
    if (address === null) this.peerBytes.fill(0, byteAt, byteAt + 16);
    else this.peerBytes.set(address, byteAt);
    Atomics.store(ints, base + PEER_ENDPOINT_PORT, address === null ? -1 : port);
    Atomics.add(ints, base + PEER_ENDPOINT_SEQ, 1);
    Atomics.store(ints, base + PEER_ENDPOINT_LOCK, 0);
  }

  // ─── activity: written per packet by any thread, read by the main thread's timers ───

  /** Notes an authenticated packet sent to peer `p` (`data`: not a keepalive). */
  noteSent(p: number, data: boolean, now: number): void {
    const at = p * ACTIVITY_FLOATS;
    const activity = this.activity;
    if (data && Number.isNaN(activity[at + ACT_FIRST_DATA_SENT])) {
      activity[at + ACT_FIRST_DATA_SENT] = now;
    }
    if (!Number.isNaN(activity[at + ACT_FIRST_DATA_RECEIVED])) {
      activity[at + ACT_FIRST_DATA_RECEIVED] = NaN;
    }
    activity[at + ACT_LAST_SENT] = now;
  }

  /** Notes an authenticated packet received from peer `p` (`data`: not a keepalive). */
  noteReceived(p: number, data: boolean, now: number): void {
    const at = p * ACTIVITY_FLOATS;
    const activity = this.activity;
    if (data && Number.isNaN(activity[at + ACT_FIRST_DATA_RECEIVED])) {
      activity[at + ACT_FIRST_DATA_RECEIVED] = now;
    }
    if (!Number.isNaN(activity[at + ACT_FIRST_DATA_SENT])) {
      activity[at + ACT_FIRST_DATA_SENT] = NaN;
    }
    activity[at + ACT_LAST_RECEIVED] = now;
  }

  /** First data sent to `p` since anything authenticated came back (NaN: none). */
  firstDataSentAt(p: number): number {
    return this.activity[p * ACTIVITY_FLOATS + ACT_FIRST_DATA_SENT];
  }

  /** First data received from `p` since we sent anything authenticated (NaN: none). */
  firstDataReceivedAt(p: number): number {
    return this.activity[p * ACTIVITY_FLOATS + ACT_FIRST_DATA_RECEIVED];
  }

  /** Disarms the new-handshake timer (it fired). */
  clearFirstDataSent(p: number): void {
    this.activity[p * ACTIVITY_FLOATS + ACT_FIRST_DATA_SENT] = NaN;
  }

  /** Disarms the send-keepalive timer (it fired). */
  clearFirstDataReceived(p: number): void {
    this.activity[p * ACTIVITY_FLOATS + ACT_FIRST_DATA_RECEIVED] = NaN;
  }

  /** The last authenticated packet in either direction (NaN: none). */
  lastTraversalAt(p: number): number {
    const at = p * ACTIVITY_FLOATS;
    const sent = this.activity[at + ACT_LAST_SENT];
    const received = this.activity[at + ACT_LAST_RECEIVED];
    if (Number.isNaN(sent)) return received;
    return Number.isNaN(received) || sent > received ? sent : received;
  }

  /**
   * True at most once per `interval` per peer: the caller may ask the main thread for a
   * handshake. Keeps a stream of packets that all want a rekey from becoming a stream of
   * messages (the kernel rate-limits its own initiations the same way).
   */
  claimHandshakeRequest(p: number, now: number, interval: number): boolean {
    const at = p * ACTIVITY_FLOATS + ACT_HANDSHAKE_REQUESTED;
    const last = this.activity[at];
    if (!Number.isNaN(last) && now - last < interval) return false;
    this.activity[at] = now;
    return true;
  }

  // ─── traffic counters: one row per writer, so no two threads add to the same cell ───

  /** Adds to peer `p`'s byte counters in writer `w`'s row. */
  addTraffic(w: number, p: number, received: number, sent: number): void {
    const at = (w * this.dimensions.peers + p) * 2;
    this.traffic[at] += received;
    this.traffic[at + 1] += sent;
  }

  /** Peer `p`'s received bytes over all writers. */
  receivedBytes(p: number): number {
    let sum = 0;
    for (let w = 0; w < this.dimensions.writers; w++) {
      sum += this.traffic[(w * this.dimensions.peers + p) * 2];
    }
    return sum;
  }

  /** Peer `p`'s sent bytes over all writers. */
  sentBytes(p: number): number {
    let sum = 0;
    for (let w = 0; w < this.dimensions.writers; w++) {
      sum += this.traffic[(w * this.dimensions.peers + p) * 2 + 1];
    }
    return sum;
  }
}
