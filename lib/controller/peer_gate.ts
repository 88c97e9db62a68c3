/**
 * The node side of admission control, sans-IO: sits between the mesh's peer changes and the
 * WireGuard device. A peer is on the device only while the controller admits it, with the
 * pairwise PSK of the current epoch; a peer it stops admitting is removed at once (a changed
 * PSK would not end a live WireGuard session, removal does) and re-added, with everything
 * the mesh configured for it, when admitted again. Peers the controller does not list are
 * never admitted: with `--controller`, membership also needs the controller's "allowed".
 */

import { encodeHex } from "../encoding/base64.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import type { PeerChange, PeerUpsert } from "../wireguard/device_config.ts";
import type { AllowedIp } from "../wireguard/allowed_ips.ts";

/** Filters peer changes on their way to the device (MeshNode's hook). */
export interface PeerFilter {
  /** The changes to apply instead of `changes`. */
  filter(changes: PeerChange[]): PeerChange[];
  /** Changes that bring the device in line after the admitted set changed. */
  reconcile(): PeerChange[];
}

/** What the mesh wants for one peer: the merge of every upsert it sent since its last removal. */
interface Shadow {
  publicKey: Uint8Array;
  upsert: PeerUpsert;
  /** The PSK installed on the device, or null when the peer is not on it. */
  installed: Uint8Array | null;
}

/** The peer gate: admitted WireGuard keys (hex) → their PSKs. */
export class PeerGate implements PeerFilter {
  readonly #shadows = new Map<string, Shadow>();
  #admitted = new Map<string, Uint8Array>();

  /** Replaces the admitted set (WireGuard public key → PSK); apply `reconcile()` after. */
  setAdmitted(admitted: ReadonlyMap<Uint8Array, Uint8Array>): void {
    this.#admitted = new Map([...admitted].map(([key, psk]) => [encodeHex(key), psk.slice()]));
  }

  /** True when the peer with this WireGuard key is on the device. */
  installed(wireguardKey: Uint8Array): boolean {
    return (this.#shadows.get(encodeHex(wireguardKey))?.installed ?? null) !== null;
  }

  /** Number of admitted keys (logs). */
  get admittedCount(): number {
    return this.#admitted.size;
  }

  /** Lets through what concerns admitted peers, with their PSK; holds back the rest. */
  filter(changes: PeerChange[]): PeerChange[] {
    const out: PeerChange[] = [];
    for (const change of changes) {
      const id = encodeHex(change.publicKey);
      if (change.kind === "remove") {
        const shadow = this.#shadows.get(id);
        this.#shadows.delete(id);
        if (shadow?.installed) out.push(change);
        continue;
      }
      const shadow = this.#shadows.get(id) ??
        {
          publicKey: change.publicKey.slice(),
          upsert: { kind: "upsert", publicKey: change.publicKey.slice() },
          installed: null,
        };
      merge(shadow.upsert, change);
      this.#shadows.set(id, shadow);
      const psk = this.#admitted.get(id);
      if (psk === undefined) continue;
      if (shadow.installed === null) {
        out.push(this.#install(shadow, psk));
      } else {
        const { presharedKey: _ignored, ...rest } = change;
        out.push(rest);
      }
    }
    return out;
  }

  /** Removes peers no longer admitted, adds newly admitted ones, updates changed PSKs. */
  reconcile(): PeerChange[] {
    const out: PeerChange[] = [];
    for (const [id, shadow] of this.#shadows) {
      const psk = this.#admitted.get(id);
      if (psk === undefined) {
        if (shadow.installed !== null) {
          out.push({ kind: "remove", publicKey: shadow.publicKey });
          shadow.installed = null;
        }
      } else if (shadow.installed === null) {
        out.push(this.#install(shadow, psk));
      } else if (!constantTimeEqual(shadow.installed, psk)) {
        out.push({ kind: "upsert", publicKey: shadow.publicKey, presharedKey: psk });
        shadow.installed = psk;
      }
    }
    return out;
  }

  #install(shadow: Shadow, psk: Uint8Array): PeerUpsert {
    shadow.installed = psk;
    const full: PeerUpsert = { ...shadow.upsert, presharedKey: psk, replaceAllowedIps: true };
    delete full.updateOnly;
    full.allowedIps = [...(shadow.upsert.allowedIps ?? [])];
    return full;
  }
}

/** Folds one upsert into the accumulated one (later fields win; allowed IPs add or replace). */
function merge(into: PeerUpsert, change: PeerUpsert): void {
  if (change.endpoint !== undefined) into.endpoint = change.endpoint;
  if (change.persistentKeepalive !== undefined) {
    into.persistentKeepalive = change.persistentKeepalive;
  }
  if (change.allowedIps !== undefined || change.replaceAllowedIps) {
    const base: AllowedIp[] = change.replaceAllowedIps ? [] : into.allowedIps ?? [];
    into.allowedIps = [...base, ...(change.allowedIps ?? [])];
  }
}
