/**
 * The flows this node opened, shared by all data workers in one SharedArrayBuffer, so a reply
 * passes a deny policy whichever worker seals the request and whichever opens the reply (one
 * peer's datagrams reach one worker, but its flows are sealed by the worker of their TUN queue).
 * Also remembers the first fragments the policy let in, so their later fragments follow them.
 *
 * Fixed-size open addressing (4 probes), no allocation, no lock: each entry is 8 ints, written
 * with its check word cleared first and set last; a reader trusts an entry only when the check
 * recomputed from the fields matches, so a torn write from two workers reads as "no entry" (a
 * missed reply, never a wrong one). When the 4 slots are full the one expiring first is taken
 * (fragments, kept 30 s, go before flows); the hash is seeded per daemon, so a peer cannot aim
 * its fragments at the slots of our flows.
 */

const ENTRY_INTS = 8;
const E_CHECK = 0;
const E_META = 1; // kind << 8 | protocol, | V6 for IPv6 addresses
const E_PORTS = 2; // flow: local << 16 | remote; fragment: identification
const E_ADDRESS = 3; // four ints: the remote (flow) or source (fragment) address
const E_EXPIRES = 7; // seconds
const PROBES = 4;
const V6 = 1 << 16;

/** Entries in the table (a power of two): 16,384 × 32 bytes = 512 KiB. */
export const FLOW_ENTRIES = 16384;
/** An entry for a flow this node opened (TCP from its SYN, UDP from any packet). */
export const KIND_FLOW = 1;
/** An entry for a first fragment that was let in. */
export const KIND_FRAGMENT = 2;

/** The shared flow table, viewed from one thread. */
export class FlowTable {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly mask: number;
  /** Mixed into every hash, so a peer cannot aim its fragments at the slots of our flows. */
  private readonly seed: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ints = new Int32Array(buffer, 0, FLOW_ENTRIES * ENTRY_INTS);
    this.mask = FLOW_ENTRIES - 1;
    this.seed = new Int32Array(buffer, FLOW_ENTRIES * ENTRY_INTS * 4, 1)[0];
  }

  /** An empty table of FLOW_ENTRIES entries with a random hash seed. */
  static create(): FlowTable {
    const buffer = new SharedArrayBuffer(FLOW_ENTRIES * ENTRY_INTS * 4 + 4);
    crypto.getRandomValues(new Int32Array(buffer, FLOW_ENTRIES * ENTRY_INTS * 4, 1));
    return new FlowTable(buffer);
  }

  /** The table another thread created. */
  static attach(buffer: SharedArrayBuffer): FlowTable {
    return new FlowTable(buffer);
  }

  /**
   * Where the entry (`meta`, `ports`, address at `addressAt` of `addressLength` bytes) is, or -1.
   * `nowSeconds` hides expired entries.
   */
  find(
    meta: number,
    ports: number,
    bytes: Uint8Array,
    addressAt: number,
    addressLength: number,
    nowSeconds: number,
  ): number {
    ports |= 0; // as the Int32Array holds it (an IPv6 fragment id may exceed 2^31)
    const a0 = word(bytes, addressAt);
    const a1 = addressLength === 16 ? word(bytes, addressAt + 4) : 0;
    const a2 = addressLength === 16 ? word(bytes, addressAt + 8) : 0;
    const a3 = addressLength === 16 ? word(bytes, addressAt + 12) : 0;
    if (addressLength === 16) meta |= V6;
    const check = checkOf(this.seed, meta, ports, a0, a1, a2, a3);
    const ints = this.ints;
    let slot = check & this.mask;
    for (let i = 0; i < PROBES; i++) {
      const at = slot * ENTRY_INTS;
      if (
        Atomics.load(ints, at + E_CHECK) === check && ints[at + E_META] === meta &&
        ints[at + E_PORTS] === ports && ints[at + E_ADDRESS] === a0 &&
        ints[at + E_ADDRESS + 1] === a1 && ints[at + E_ADDRESS + 2] === a2 &&
        ints[at + E_ADDRESS + 3] === a3 && ints[at + E_EXPIRES] >= nowSeconds &&
        checkOf(
            this.seed,
            ints[at + E_META],
            ints[at + E_PORTS],
            ints[at + E_ADDRESS],
            ints[at + E_ADDRESS + 1],
            ints[at + E_ADDRESS + 2],
            ints[at + E_ADDRESS + 3],
          ) === Atomics.load(ints, at + E_CHECK)
      ) {
        return at;
      }
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  /** Extends a found entry (from `find`) to expire at `expires` seconds. */
  refresh(entry: number, expires: number): void {
    if (this.ints[entry + E_EXPIRES] < expires) this.ints[entry + E_EXPIRES] = expires;
  }

  /** The expiry of a found entry. */
  expiresAt(entry: number): number {
    return this.ints[entry + E_EXPIRES];
  }

  /** Adds (or refreshes) an entry until `expires` seconds. */
  insert(
    meta: number,
    ports: number,
    bytes: Uint8Array,
    addressAt: number,
    addressLength: number,
    nowSeconds: number,
    expires: number,
  ): void {
    ports |= 0;
    const found = this.find(meta, ports, bytes, addressAt, addressLength, nowSeconds);
    if (found >= 0) {
      this.refresh(found, expires);
      return;
    }
    const a0 = word(bytes, addressAt);
    const a1 = addressLength === 16 ? word(bytes, addressAt + 4) : 0;
    const a2 = addressLength === 16 ? word(bytes, addressAt + 8) : 0;
    const a3 = addressLength === 16 ? word(bytes, addressAt + 12) : 0;
    if (addressLength === 16) meta |= V6;
    const check = checkOf(this.seed, meta, ports, a0, a1, a2, a3);
    const ints = this.ints;
    let slot = check & this.mask;
    let victim = slot * ENTRY_INTS;
    for (let i = 0; i < PROBES; i++) {
      const at = slot * ENTRY_INTS;
      if (ints[at + E_EXPIRES] < nowSeconds) {
        victim = at;
        break;
      }
      if (ints[at + E_EXPIRES] < ints[victim + E_EXPIRES]) victim = at;
      slot = (slot + 1) & this.mask;
    }
    Atomics.store(ints, victim + E_CHECK, 0);
    ints[victim + E_META] = meta;
    ints[victim + E_PORTS] = ports;
    ints[victim + E_ADDRESS] = a0;
    ints[victim + E_ADDRESS + 1] = a1;
    ints[victim + E_ADDRESS + 2] = a2;
    ints[victim + E_ADDRESS + 3] = a3;
    ints[victim + E_EXPIRES] = expires;
    Atomics.store(ints, victim + E_CHECK, check);
  }

  /** Entries live at `nowSeconds` (for tests and status; walks the whole table). */
  live(nowSeconds: number): number {
    let count = 0;
    for (let at = 0; at < this.ints.length; at += ENTRY_INTS) {
      if (this.ints[at + E_CHECK] !== 0 && this.ints[at + E_EXPIRES] >= nowSeconds) count++;
    }
    return count;
  }
}

function word(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
}

/** A nonzero 32-bit mix of the fields (also the probe start). */
function checkOf(
  seed: number,
  meta: number,
  ports: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
) {
  let h = Math.imul(meta ^ seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ ports ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ a0 ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ a1 ^ (h >>> 16), 0xc2b2ae35);
  h = Math.imul(h ^ a2 ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ a3 ^ (h >>> 16), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}
