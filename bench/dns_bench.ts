/**
 * The mesh resolver's costs: one A query answered (decode, lookup, encode) from a table of
 * 5,000 names, and rebuilding that table (what the first query after a trust or membership change
 * pays, at most once per change).
 *
 * Run: deno bench bench/dns_bench.ts
 */

// @ts-types="../lib/dns/dns_packet.d.ts"
import * as packet from "dns-packet";
import { DnsResponder } from "../lib/dns/dns_responder.ts";
import { type DnsHost, DnsTable } from "../lib/dns/dns_table.ts";

const HOSTS: DnsHost[] = Array.from({ length: 5_000 }, (_, i) => ({
  name: `node${i}.mesh`,
  ipv4: Uint8Array.of(10, 99, 1 + (i >> 8), 1 + (i & 0xfd)),
  ipv6: Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, i >> 8, i & 0xff),
}));
const TABLE = new DnsTable(HOSTS);
const QUERY = new Uint8Array(packet.encode({
  type: "query",
  id: 1,
  flags: packet.RECURSION_DESIRED,
  questions: [{ name: "node4321.mesh", type: "A", class: "IN" }],
}));
const SOURCE = Uint8Array.of(10, 99, 1, 1);
const responder = new DnsResponder({ ratePerSecond: 1e12, burst: 1e12, seed: 1 });
let now = 0;

Deno.bench("dns: answer one A query (5,000 names)", () => {
  if (responder.answer(QUERY, SOURCE, "udp", TABLE, now++) === null) throw new Error("no answer");
});

Deno.bench("dns: rebuild the table of 5,000 names", () => {
  if (new DnsTable(HOSTS).size !== 5_000) throw new Error("lost names");
});
