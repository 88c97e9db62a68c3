/** In-process mesh: a real node's resolver table follows its trust and membership live. */

import { Buffer } from "node:buffer";
// @ts-types="../../lib/dns/dns_packet.d.ts"
import * as packet from "dns-packet";
import { assertEquals } from "../assert.ts";
import { formedMesh, FOUR_NODES } from "./mesh_sim.ts";
import { MeshDnsTable } from "../../lib/daemon/mesh_dns_table.ts";
import { DnsResponder } from "../../lib/dns/dns_responder.ts";
import { meshIpv4, meshIpv6 } from "../../lib/identity/mesh_address.ts";

Deno.test("mesh sim names: a node answers for the names it trusts; revoking one makes it NXDOMAIN", async () => {
  const sim = await formedMesh(3);
  const n1 = sim.host("n1");
  const table = new MeshDnsTable(n1.node!.peers, n1.identity.publicKey);
  const responder = new DnsResponder();
  const source = Uint8Array.of(10, 99, 0, 9);
  const ask = (name: string, type: string, now: number) => {
    const query = packet.encode({ type: "query", id: 9, questions: [{ name, type, class: "IN" }] });
    const answer = responder.answer(query, source, "udp", table.table(now), now)!;
    const decoded = packet.decode(Buffer.from(answer));
    return [decoded.rcode, ...(decoded.answers ?? []).map((record) => String(record.data))];
  };
  const n2 = sim.host("n2").identity.publicKey;
  assertEquals(ask("n2.mesh", "A", 0), ["NOERROR", meshIpv4(n2)]);
  assertEquals(ask("n2.mesh", "AAAA", 0), ["NOERROR", meshIpv6(n2)]);
  assertEquals(sim.peerStatus("n1", "n2")?.dns_name, "n2.mesh");
  // Live revoke on n1 (a trust-store reload): the name goes with the trust.
  sim.trust("n1", FOUR_NODES.filter((name) => name !== "n1" && name !== "n2"));
  sim.run(100);
  assertEquals(ask("n2.mesh", "A", 2_000), ["NXDOMAIN"]);
  assertEquals(ask("n3.mesh", "A", 2_000), [
    "NOERROR",
    meshIpv4(sim.host("n3").identity.publicKey),
  ]);
});
