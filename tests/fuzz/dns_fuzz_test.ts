/**
 * Fuzz target for the mesh resolver (`DnsResponder.answer`): mutated queries (every type we
 * answer, EDNS, PTR, names in and outside the mesh) and random bytes never make it throw; every
 * answer is a response to that query (its id, QR set), fits the UDP limit, and either parses
 * back or is a 12-byte header-only error; records it returns are only the table's own.
 */

import { Buffer } from "node:buffer";
// @ts-types="../../lib/dns/dns_packet.d.ts"
import * as packet from "dns-packet";
import { DNS_EDNS_LIMIT, DnsResponder } from "../../lib/dns/dns_responder.ts";
import { DnsTable, reverseName } from "../../lib/dns/dns_table.ts";
import { ensure, Mutator, runFuzz, startFuzz, utf8 } from "./fuzz_kit.ts";

const V4 = Uint8Array.of(10, 99, 12, 34);
const V6 = Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
const TABLE = new DnsTable([
  { name: "node2.mesh", ipv4: V4, ipv6: V6 },
  { name: "web.a1b2c3.mesh", ipv4: null, ipv6: V6.map((b, i) => (i === 15 ? 9 : b)) },
]);
const KNOWN = new Set(["10.99.12.34", "fd99:6d67::102:304:506:708", "fd99:6d67::102:304:506:709"]);

function query(name: string, type: string, edns = false): Uint8Array {
  // A plain copy: a Buffer's slice() shares memory, and the mutator slices its seeds.
  return new Uint8Array(packet.encode({
    type: "query",
    id: 0x1234,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    additionals: edns
      ? [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, options: [] }]
      : [],
  }));
}

Deno.test("fuzz dns queries: never throws; answers are bounded responses to the query, with only the table's records", () => {
  const run = startFuzz("dns-query");
  const seeds = [
    query("node2.mesh", "A"),
    query("node2.mesh", "AAAA", true),
    query("web.a1b2c3.mesh", "ANY"),
    query(reverseName(V4), "PTR"),
    query(reverseName(V6), "PTR", true),
    query("unknown.mesh", "A"),
    query("example.com", "A"),
  ];
  const mutator = new Mutator(run.rng, {
    maxLength: 600,
    dictionary: [
      ...utf8("mesh", "arpa", "in-addr", "ip6"),
      Uint8Array.of(0xc0, 0x0c),
      Uint8Array.of(0x00, 0x29, 0x10, 0x00),
      Uint8Array.of(0x00, 0xff, 0x00, 0x01),
      Uint8Array.of(0x3f),
    ],
  });
  // A generous limit: the fuzzer's sources are few, and limiting is tested in the unit suite.
  const responder = new DnsResponder({ ratePerSecond: 1e9, burst: 1e9, seed: 7 });
  const source = Uint8Array.of(10, 99, 1, 1);
  const outcomes = runFuzz("dns-query", run, () => mutator.next(seeds), (input, i) => {
    const answer = responder.answer(input, source, "udp", TABLE, i);
    if (answer === null) return "dropped";
    ensure(answer.length <= DNS_EDNS_LIMIT, `${answer.length}-byte answer over UDP`);
    ensure(answer[0] === input[0] && answer[1] === input[1], "id not echoed");
    ensure((answer[2] & 0x80) !== 0, "QR not set");
    if (answer.length === 12) return `bare rcode ${answer[3] & 0xf}`;
    const decoded = packet.decode(Buffer.from(answer));
    for (const record of decoded.answers ?? []) {
      const data = String(record.data);
      ensure(KNOWN.has(data) || data.endsWith(".mesh"), `foreign record ${data}`);
    }
    return `${decoded.rcode}${(decoded.answers ?? []).length > 0 ? " with answers" : ""}`;
  });
  ensure((outcomes.get("NOERROR with answers") ?? 0) > 1000, "the fuzzer hardly reached answers");
  ensure((outcomes.get("NXDOMAIN") ?? 0) > 100, "the fuzzer hardly reached NXDOMAIN");
});
