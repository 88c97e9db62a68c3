/** The mesh resolver's answers: A/AAAA/PTR, NXDOMAIN, REFUSED, errors, truncation, rate limit. */

import { Buffer } from "node:buffer";
// @ts-types="../../lib/dns/dns_packet.d.ts"
import * as packet from "dns-packet";
import { assertEquals, assertTrue } from "../assert.ts";
import { DNS_UDP_LIMIT, DnsResponder, RCODE } from "../../lib/dns/dns_responder.ts";
import { DnsTable, reverseName } from "../../lib/dns/dns_table.ts";

const V4 = Uint8Array.of(10, 99, 12, 34);
const V6 = Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
const TABLE = new DnsTable([
  { name: "node2.mesh", ipv4: V4, ipv6: V6 },
  { name: "web.a1b2c3.mesh", ipv4: null, ipv6: V6.map((b, i) => i === 15 ? 9 : b) },
]);
const SOURCE = Uint8Array.of(10, 99, 1, 1);

function query(name: string, type: string, extra: Partial<packet.Packet> = {}): Uint8Array {
  return packet.encode({
    type: "query",
    id: 0x4242,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
    ...extra,
  });
}

type Decoded = packet.DecodedPacket & { raw: Uint8Array };

function decode(bytes: Uint8Array): packet.DecodedPacket {
  return packet.decode(Buffer.from(bytes));
}

function ask(
  bytes: Uint8Array,
  responder = new DnsResponder(),
  transport: "udp" | "tcp" = "udp",
): Decoded {
  const answer = responder.answer(bytes, SOURCE, transport, TABLE, 0);
  assertTrue(answer !== null, "no answer");
  return { ...decode(answer!), raw: answer! };
}

Deno.test("A and AAAA for a held name, case-insensitively, echoing the question's case", () => {
  const a = ask(query("NoDe2.MESH", "A"));
  assertEquals(a.id, 0x4242);
  assertEquals(a.rcode, "NOERROR");
  assertTrue(a.flag_aa && a.flag_rd && !a.flag_ra, "flags: authoritative, RD echoed, no RA");
  assertEquals(a.questions![0].name, "NoDe2.MESH");
  assertEquals(a.answers!.map((r) => [r.name, r.type, (r as { data: string }).data]), [
    ["NoDe2.MESH", "A", "10.99.12.34"],
  ]);
  const aaaa = ask(query("node2.mesh.", "AAAA"));
  assertEquals(aaaa.answers!.map((r) => (r as { data: string }).data), [
    "fd99:6d67::102:304:506:708",
  ]);
  // A member that does not hold its IPv4 here: no A (NODATA), but its AAAA.
  const nodata = ask(query("web.a1b2c3.mesh", "A"));
  assertEquals([nodata.rcode, nodata.answers!.length], ["NOERROR", 0]);
  assertEquals(ask(query("web.a1b2c3.mesh", "AAAA")).answers!.length, 1);
  // The org domain exists (NODATA), an unknown name does not.
  assertEquals(ask(query("a1b2c3.mesh", "A")).rcode, "NOERROR");
  assertEquals(ask(query("nobody.mesh", "A")).rcode, "NXDOMAIN");
  assertEquals(ask(query("node2.mesh", "TXT")).rcode, "NOERROR");
});

Deno.test("PTR for the mesh ranges; NXDOMAIN for unknown mesh addresses; REFUSED elsewhere", () => {
  const v4 = ask(query(reverseName(V4), "PTR"));
  assertEquals(v4.answers!.map((r) => (r as { data: string }).data), ["node2.mesh"]);
  const v6 = ask(query(reverseName(V6), "PTR"));
  assertEquals(v6.answers!.map((r) => (r as { data: string }).data), ["node2.mesh"]);
  assertEquals(ask(query("9.9.99.10.in-addr.arpa", "PTR")).rcode, "NXDOMAIN");
  const outside = ask(query("1.0.0.127.in-addr.arpa", "PTR"));
  assertEquals([outside.rcode, outside.flag_aa], ["REFUSED", false]);
  const example = ask(query("example.com", "A"));
  assertEquals([example.rcode, example.answers!.length, example.flag_ra], ["REFUSED", 0, false]);
  assertEquals(ask(query("meshy.com", "A")).rcode, "REFUSED");
});

Deno.test("bad queries: header-only FORMERR/NOTIMP, nothing for responses or runts", () => {
  const responder = new DnsResponder();
  const two = query("node2.mesh", "A");
  two[5] = 2; // QDCOUNT 2 with one question
  assertEquals(ask(two, responder).rcode, "FORMERR");
  const update = query("node2.mesh", "A");
  update[2] |= 5 << 3; // opcode UPDATE
  const notimp = ask(update, responder);
  assertEquals([notimp.rcode, notimp.raw.length], ["NOTIMP", 12]);
  const binary = query("node2.mesh", "A");
  binary[13] = 0xff; // a byte the encoder would not write back
  assertEquals(ask(binary, responder).rcode, "FORMERR");
  const response = query("node2.mesh", "A");
  response[2] |= 0x80;
  assertEquals(responder.answer(response, SOURCE, "udp", TABLE, 0), null);
  assertEquals(responder.answer(new Uint8Array(11), SOURCE, "udp", TABLE, 0), null);
  assertEquals(responder.counters.malformed, 4);
  assertEquals(RCODE.FORMERR, 1);
});

Deno.test("UDP answers stay within 512 bytes (or the EDNS size, at most 1232) with TC set past it", () => {
  // A name near 255 bytes makes even a one-record answer large: question + answer > 512.
  const long = `${Array.from({ length: 3 }, () => "a".repeat(63)).join(".")}.x.mesh`;
  const big = new DnsTable([{ name: long, ipv4: V4, ipv6: V6 }]);
  const responder = new DnsResponder();
  const plain = responder.answer(query(long, "ANY"), SOURCE, "udp", big, 0)!;
  const decoded = decode(plain);
  assertTrue(plain.length <= DNS_UDP_LIMIT, `${plain.length} bytes over UDP`);
  assertTrue(decoded.flag_tc && decoded.answers!.length === 0, "not truncated");
  const withEdns = query(long, "ANY", {
    additionals: [{
      type: "OPT",
      name: ".",
      udpPayloadSize: 4096,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    }],
  });
  const edns = decode(responder.answer(withEdns, SOURCE, "udp", big, 0)!);
  assertEquals([edns.flag_tc, edns.answers!.length], [false, 2]);
  const tcp = packet.decode(
    Buffer.from(responder.answer(query(long, "ANY"), SOURCE, "tcp", big, 0)!),
  );
  assertEquals([tcp.flag_tc, tcp.answers!.length], [false, 2]);
  assertEquals(responder.counters.truncated, 1);
});

Deno.test("each source is rate limited; others are not affected; tokens come back with time", () => {
  const responder = new DnsResponder({ ratePerSecond: 10, burst: 5, seed: 1 });
  const q = query("node2.mesh", "A");
  const answered = (source: Uint8Array, now: number) =>
    responder.answer(q, source, "udp", TABLE, now) !== null;
  let passed = 0;
  for (let i = 0; i < 50; i++) if (answered(SOURCE, 0)) passed++;
  // Two buckets per source: at most twice the burst at once.
  assertTrue(passed >= 5 && passed <= 10, `${passed} passed`);
  assertTrue(answered(Uint8Array.of(10, 99, 7, 7), 0), "another source was limited too");
  assertTrue(answered(SOURCE, 1_000), "no token after a second");
  assertTrue(responder.counters.limited >= 40, "drops not counted");
});

Deno.test("only mesh sources are answered: a spoofed query from the underlay gets nothing", () => {
  const responder = new DnsResponder();
  const q = query("node2.mesh", "A");
  for (
    const source of [
      Uint8Array.of(192, 0, 2, 7),
      Uint8Array.of(10, 98, 1, 1),
      Uint8Array.of(127, 0, 0, 1),
      Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1),
    ]
  ) {
    assertEquals(responder.answer(q, source, "udp", TABLE, 0), null, `answered ${source}`);
  }
  assertEquals(responder.counters.foreign, 4);
  const v6 = Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9);
  assertTrue(responder.answer(q, v6, "udp", TABLE, 0) !== null, "a mesh IPv6 source refused");
});
