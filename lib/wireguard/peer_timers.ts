/**
 * The kernel's five per-peer timers (timers.c) as deadlines on the peer: which ones are due
 * at `now`, each disarmed before its handler runs so a handler may re-arm it.
 */

import type { Peer } from "./peer.ts";

/** What the engine does when each timer expires. */
export interface TimerHandlers {
  /** No response to our initiation within REKEY_TIMEOUT (+ jitter). */
  retransmitHandshake(): void;
  /** We received data and sent nothing back for KEEPALIVE_TIMEOUT; or persistent keepalive. */
  sendKeepalive(): void;
  /** We sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT. */
  newHandshake(): void;
  /** No new session for 3 × REJECT_AFTER_TIME: wipe everything. */
  zeroKeyMaterial(): void;
}

/** Fires the peer's due timers in the kernel's order of concern. */
export function runDueTimers(peer: Peer, now: number, handlers: TimerHandlers): void {
  if (peer.retransmitHandshakeAt !== null && now >= peer.retransmitHandshakeAt) {
    peer.retransmitHandshakeAt = null;
    handlers.retransmitHandshake();
  }
  const sendKeepaliveAt = peer.sendKeepaliveAt;
  if (sendKeepaliveAt !== null && now >= sendKeepaliveAt) {
    peer.disarmSendKeepalive();
    handlers.sendKeepalive();
  }
  const newHandshakeAt = peer.newHandshakeAt;
  if (newHandshakeAt !== null && now >= newHandshakeAt) {
    peer.disarmNewHandshake();
    handlers.newHandshake();
  }
  const persistentKeepaliveAt = peer.persistentKeepaliveAt;
  if (persistentKeepaliveAt !== null && now >= persistentKeepaliveAt) {
    peer.persistentKeepaliveArmedAt = now;
    handlers.sendKeepalive();
  }
  if (peer.zeroKeyMaterialAt !== null && now >= peer.zeroKeyMaterialAt) {
    peer.zeroKeyMaterialAt = null;
    handlers.zeroKeyMaterial();
  }
}
