/**
 * A policy set as a device takes it: files keyed by the peers' WireGuard keys (the daemon
 * resolves names, Ed25519 keys and orgs), compiled into a `PolicyTable` against the device's
 * peer ids whenever the policy or the peers change. Shared by the device's main thread and the
 * in-process test device.
 */

import { encodeHex } from "../encoding/base64.ts";
import type { PolicyAction, PolicyFile } from "./policy_rules.ts";
import type { CompiledPolicy, PolicyRow } from "./policy_table.ts";

/** The files one peer is held to: its own, and its org's. */
export interface DevicePolicyPeer {
  /** The peer's WireGuard (X25519) public key. */
  wireguardKey: Uint8Array;
  peer: PolicyFile | null;
  org: PolicyFile | null;
}

/** What a device enforces on inbound decrypted packets. */
export interface DevicePolicy {
  defaultAction: PolicyAction;
  global: PolicyFile | null;
  peers: DevicePolicyPeer[];
  /** False when nothing can be dropped (the workers then skip the gate). */
  enforcing: boolean;
}

/** The policy that lets everything through. */
export const ALLOW_ALL: DevicePolicy = {
  defaultAction: "allow",
  global: null,
  peers: [],
  enforcing: false,
};

/** `policy` against peer ids: `idOf(key)` is a configured peer's id, or undefined. */
export function compileDevicePolicy(
  policy: DevicePolicy,
  idOf: (wireguardKey: Uint8Array) => number | undefined,
): CompiledPolicy {
  const rows = new Map<number, PolicyRow>();
  const seen = new Set<string>();
  for (const entry of policy.peers) {
    const key = encodeHex(entry.wireguardKey);
    if (seen.has(key)) continue;
    seen.add(key);
    const id = idOf(entry.wireguardKey);
    if (id !== undefined) rows.set(id, { peer: entry.peer, org: entry.org });
  }
  return {
    defaultAction: policy.defaultAction,
    global: policy.global,
    rows,
    enforcing: policy.enforcing,
  };
}
