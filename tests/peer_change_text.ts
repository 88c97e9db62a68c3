/**
 * Renders typed peer changes as the `wg` UAPI `set` lines that express them (tests only):
 * expectations stay readable, and `parseUapiSet` of the text gives the same changes back.
 */

import { encodeHex } from "../lib/encoding/base64.ts";
import { formatAllowedIp } from "../lib/wireguard/allowed_ips.ts";
import type { PeerChange } from "../lib/wireguard/device_config.ts";
import { formatEndpoint } from "../lib/wireguard/endpoint.ts";

/** The UAPI `set` body lines (without `set=1`) of `changes`, in order. */
export function uapiText(changes: { peers: PeerChange[] } | PeerChange[]): string {
  const list = Array.isArray(changes) ? changes : changes.peers;
  let text = "";
  for (const change of list) {
    text += `public_key=${encodeHex(change.publicKey)}\n`;
    if (change.kind === "remove") {
      text += "remove=true\n";
      continue;
    }
    if (change.updateOnly) text += "update_only=true\n";
    if (change.presharedKey) text += `preshared_key=${encodeHex(change.presharedKey)}\n`;
    if (change.endpoint) text += `endpoint=${formatEndpoint(change.endpoint)}\n`;
    if (change.persistentKeepalive !== undefined) {
      text += `persistent_keepalive_interval=${change.persistentKeepalive}\n`;
    }
    if (change.replaceAllowedIps) text += "replace_allowed_ips=true\n";
    for (const entry of change.allowedIps ?? []) text += `allowed_ip=${formatAllowedIp(entry)}\n`;
  }
  return text;
}
