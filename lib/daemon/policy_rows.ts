/**
 * Which files each peer is held to, from a policy set and org membership: a peer gets its own
 * file (`peer/`) and the file of the org whose certificate admits it right now (`org/`), so a
 * row exists for every peer with either, not only for peers with a file of their own. Pure: the
 * daemon (`node_policies.ts`) and the in-process mesh tests build the device policy with it.
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { decodeBase64Strict } from "../encoding/base64.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { DevicePolicy, DevicePolicyPeer } from "../policy/device_policy.ts";
import { policyCanDrop, type PolicyFile, type PolicySet } from "../policy/policy_rules.ts";

/** Org membership as policies see it (the node's `OrgTrust`). */
export interface PolicyOrgs {
  /** Grows whenever `admittedMembers` may answer differently. */
  readonly version: number;
  /** Members a certificate admits now, with the org that signed it. */
  admittedMembers(): Iterable<{ nodeKey: Uint8Array; orgKey: Uint8Array }>;
}

/**
 * The device policy of `set`: one row per peer that has its own file or whose org has one.
 * A member admitted by a certificate of org O gets `org/O`'s file; a vouched member or a key
 * from `authorized_keys/` without a certificate gets none (it has no org to speak of).
 */
export function devicePolicyOf(set: PolicySet, orgs: PolicyOrgs | null): DevicePolicy {
  const rows = new Map<string, { peer: PolicyFile | null; org: PolicyFile | null }>();
  for (const [key, file] of set.peers) rows.set(key, { peer: file, org: null });
  if (orgs !== null && set.orgs.size > 0) {
    for (const { nodeKey, orgKey } of orgs.admittedMembers()) {
      const file = set.orgs.get(encodeBase64(orgKey));
      if (file === undefined) continue;
      const key = encodeBase64(nodeKey);
      const row = rows.get(key);
      if (row === undefined) rows.set(key, { peer: null, org: file });
      else row.org = file;
    }
  }
  const peers: DevicePolicyPeer[] = [];
  for (const [key, row] of rows) {
    peers.push({ wireguardKey: wireguardPublicKeyOf(decodeBase64Strict(key)), ...row });
  }
  return {
    defaultAction: set.defaultAction,
    global: set.global,
    peers,
    enforcing: policyCanDrop(set),
  };
}
