/**
 * Per-join cost of the daemon's peer planning (`MeshPeers`) in an `--open` mesh that already
 * has 1,000 or 6,000 members: one iteration is a newcomer joining (its WireGuard peer planned,
 * its mesh IPv4 settled) and being removed again, so the table stays at its size. Before the
 * collision rewrite every join re-sorted every candidate (cost grew with the mesh); now a join
 * touches only its own address.
 *
 * Run: deno bench bench/mesh_peers_bench.ts
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { MeshPeers } from "../lib/daemon/mesh_peers.ts";
import type { MemberInfo } from "../lib/swim/events.ts";
import { NatType } from "../lib/swim/records.ts";

const NEWCOMERS = 512;

function keys(count: number): Uint8Array[] {
  return Array.from({ length: count }, () => ed25519.getPublicKey(ed25519.utils.randomSecretKey()));
}

function alive(publicKey: Uint8Array): MemberInfo {
  return {
    publicKey,
    state: "alive",
    epoch: 1,
    incarnation: 0,
    endpoints: ["192.0.2.9:51821"],
    nat: NatType.Unknown,
    address: "192.0.2.9:51821",
    verified: "192.0.2.9:51821",
    flags: 0,
    rtt: -1,
  };
}

for (const size of [1_000, 6_000]) {
  // The cap is raised above the table's size so the bench measures planning, not refusal.
  const table = new MeshPeers(keys(1)[0], true, { maxMembers: size + NEWCOMERS });
  table.setTrusted([]);
  for (const key of keys(size)) table.onMember(alive(key));
  const newcomers = keys(NEWCOMERS);
  let next = 0;
  Deno.bench(`mesh peers: one --open join at ${size} members`, { group: "join" }, () => {
    const info = alive(newcomers[next++ % NEWCOMERS]);
    table.onMember(info);
    table.onMember(info, true);
  });
}
