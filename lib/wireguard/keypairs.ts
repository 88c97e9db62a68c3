/**
 * A peer's transport keypairs with the kernel's rotation rules: previous, current and next.
 * An initiator uses a new keypair at once; a responder parks it in `next` until the first
 * authenticated packet arrives under it (key confirmation), so it never sends with keys the
 * initiator might not hold.
 */

/**
 * One direction-pair of transport keys from one handshake. The keys are copied into the
 * shared key slots of record `id` when it is installed; the send counter lives there too.
 */
export interface Keypair {
  /** The shared keypair record (key slots 2·id and 2·id+1; `localIndex` names it). */
  id: number;
  /** Index we chose: the receiver field of packets sent to us under this keypair. */
  localIndex: number;
  /** Index the peer chose: what we put in the receiver field when sending. */
  remoteIndex: number;
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  /** When the handshake that made it completed (ms). */
  createdAt: number;
  /** True when we initiated the handshake (only the initiator rekeys on age). */
  isInitiator: boolean;
}

/** Overwrites a keypair's keys with zeros. */
export function wipeKeypair(keypair: Keypair): void {
  keypair.sendKey.fill(0);
  keypair.receiveKey.fill(0);
}

/** The previous/current/next slots of one peer. */
export class PeerKeypairs {
  previous: Keypair | null = null;
  current: Keypair | null = null;
  next: Keypair | null = null;

  /**
   * Installs the keypair of a completed handshake; returns the keypairs that dropped out
   * (their indices must be freed and their keys are already wiped).
   */
  install(keypair: Keypair): Keypair[] {
    const dropped: Keypair[] = [];
    const drop = (old: Keypair | null) => {
      if (old) {
        wipeKeypair(old);
        dropped.push(old);
      }
    };
    if (keypair.isInitiator) {
      if (this.next) {
        // An unconfirmed responder keypair is superseded; keep it only as a receive fallback.
        drop(this.previous);
        drop(this.current);
        this.previous = this.next;
        this.next = null;
      } else {
        drop(this.previous);
        this.previous = this.current;
      }
      this.current = keypair;
    } else {
      drop(this.next);
      drop(this.previous);
      this.previous = null;
      this.next = keypair;
    }
    return dropped;
  }

  /**
   * Called after a packet authenticated under `keypair`: if it was `next`, the peer has
   * proved it holds it, so it becomes current. Returns the keypair that dropped out.
   */
  confirm(keypair: Keypair): Keypair | null {
    if (keypair !== this.next) return null;
    const dropped = this.previous;
    if (dropped) wipeKeypair(dropped);
    this.previous = this.current;
    this.current = this.next;
    this.next = null;
    return dropped;
  }

  /** Removes and wipes every keypair; returns them so their indices can be freed. */
  clear(): Keypair[] {
    const all = [this.previous, this.current, this.next].filter((k): k is Keypair => k !== null);
    for (const keypair of all) wipeKeypair(keypair);
    this.previous = this.current = this.next = null;
    return all;
  }
}
