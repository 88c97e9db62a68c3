import { assertEquals } from "../assert.ts";
import { PeerGate } from "../../lib/controller/peer_gate.ts";
import type { PeerChange } from "../../lib/wireguard/device_config.ts";

const KEY = new Uint8Array(32).fill(9);
const OTHER = new Uint8Array(32).fill(8);
const PSK1 = new Uint8Array(32).fill(1);
const PSK2 = new Uint8Array(32).fill(2);
const IP = { address: new Uint8Array([10, 99, 1, 2]), cidr: 32 };
const ENDPOINT1 = { address: new Uint8Array([192, 0, 2, 1]), port: 51820 };
const ENDPOINT2 = { address: new Uint8Array([192, 0, 2, 2]), port: 51820 };

/** What the mesh sends when a peer appears: add with keepalive and routes, then an endpoint. */
const meshAdds: PeerChange[] = [
  {
    kind: "upsert",
    publicKey: KEY,
    persistentKeepalive: 25,
    replaceAllowedIps: true,
    allowedIps: [IP],
  },
  { kind: "upsert", publicKey: KEY, endpoint: ENDPOINT1, persistentKeepalive: 0 },
  { kind: "upsert", publicKey: KEY, persistentKeepalive: 25 },
];

Deno.test("peer gate: nothing reaches the device before the controller admits the peer", () => {
  const gate = new PeerGate();
  assertEquals(gate.filter(meshAdds), []);
  assertEquals(gate.reconcile(), []);
  gate.setAdmitted(new Map([[KEY, PSK1]]));
  assertEquals(gate.reconcile(), [{
    kind: "upsert",
    publicKey: KEY,
    persistentKeepalive: 25,
    endpoint: ENDPOINT1,
    allowedIps: [IP],
    replaceAllowedIps: true,
    presharedKey: PSK1,
  }]);
  assertEquals(gate.installed(KEY), true);
});

Deno.test("peer gate: new PSK updated in place; denied removed at once; re-added in full", () => {
  const gate = new PeerGate();
  gate.setAdmitted(new Map([[KEY, PSK1]]));
  const installed = gate.filter(meshAdds);
  assertEquals(installed.length, 3); // installed by the first, the others pass through
  assertEquals((installed[0] as { presharedKey: Uint8Array }).presharedKey, PSK1);
  // The next epoch: only the key changes.
  gate.setAdmitted(new Map([[KEY, PSK2]]));
  assertEquals(gate.reconcile(), [{ kind: "upsert", publicKey: KEY, presharedKey: PSK2 }]);
  // Denied: removed; the mesh's later changes are held back.
  gate.setAdmitted(new Map());
  assertEquals(gate.reconcile(), [{ kind: "remove", publicKey: KEY }]);
  assertEquals(gate.filter([{ kind: "upsert", publicKey: KEY, endpoint: ENDPOINT2 }]), []);
  // Allowed again: everything the mesh wants, with the new endpoint.
  gate.setAdmitted(new Map([[KEY, PSK1]]));
  const [again] = gate.reconcile();
  assertEquals(again.kind, "upsert");
  assertEquals((again as { endpoint: unknown }).endpoint, ENDPOINT2);
  assertEquals((again as { allowedIps: unknown }).allowedIps, [IP]);
  assertEquals((again as { presharedKey: unknown }).presharedKey, PSK1);
});

Deno.test("peer gate: the mesh's removals win; unlisted peers never get in", () => {
  const gate = new PeerGate();
  gate.setAdmitted(new Map([[KEY, PSK1]]));
  gate.filter(meshAdds);
  assertEquals(gate.filter([{ kind: "remove", publicKey: KEY }]), [{
    kind: "remove",
    publicKey: KEY,
  }]);
  assertEquals(gate.reconcile(), []); // gone from the mesh: not re-added by admission
  assertEquals(gate.filter([{ kind: "upsert", publicKey: OTHER, persistentKeepalive: 25 }]), []);
  assertEquals(gate.filter([{ kind: "remove", publicKey: OTHER }]), []); // never installed
});
