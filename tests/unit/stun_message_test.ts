/** The STUN codec against RFC 5769's sample messages, and its strictness on every field. */

import {
  BINDING_ERROR,
  BINDING_REQUEST_BYTES,
  BINDING_SUCCESS,
  encodeBindingRequest,
  isPlainBindingRequest,
  MAX_BINDING_SUCCESS_BYTES,
  parseStunResponse,
  type StunParseResult,
  writeBindingSuccess,
} from "../../lib/stun/stun_message.ts";
import { crc32 } from "../../lib/stun/crc32.ts";
import { formatIpAddress } from "../../lib/net/ip_address.ts";
import { assertEquals, assertTrue } from "../assert.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** RFC 5769 §2.1: a request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT. */
const SAMPLE_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);

/** RFC 5769 §2.2: IPv4 response, 192.0.2.1:32853. */
const SAMPLE_IPV4_RESPONSE = hex(`
  0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`);

/** RFC 5769 §2.3: IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
const SAMPLE_IPV6_RESPONSE = hex(`
  0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  8028 0004 c8fb0b4c`);

const SAMPLE_ID = hex("b7e7a701bc34d686fa87dfae");

function accepted(result: StunParseResult) {
  if (!result.ok) throw new Error(`rejected: ${result.reason}`);
  return result.response;
}

function reason(result: StunParseResult): string {
  return result.ok ? "accepted" : result.reason;
}

Deno.test("crc32 is the ISO one (check value of '123456789')", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("RFC 5769 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, fingerprint checked", () => {
  const response = accepted(parseStunResponse(SAMPLE_IPV4_RESPONSE));
  assertEquals(response.type, BINDING_SUCCESS);
  assertEquals([...response.transactionId], [...SAMPLE_ID]);
  assertEquals(formatIpAddress(response.mapped!.address), "192.0.2.1");
  assertEquals(response.mapped!.port, 32853);
  assertTrue(response.fingerprint);
});

Deno.test("RFC 5769 IPv6 response: XOR-MAPPED-ADDRESS over cookie and transaction ID", () => {
  const response = accepted(parseStunResponse(SAMPLE_IPV6_RESPONSE));
  assertEquals(formatIpAddress(response.mapped!.address), "2001:db8:1234:5678:11:2233:4455:6677");
  assertEquals(response.mapped!.port, 32853);
});

Deno.test("RFC 5769 request: its fingerprint verifies; it needs credentials, so no plain answer", () => {
  const length = SAMPLE_REQUEST.length;
  // FINGERPRINT = CRC-32 of everything before it XOR "STUN".
  const expected = (crc32(SAMPLE_REQUEST, 0, length - 8) ^ 0x5354554e) >>> 0;
  assertEquals(new DataView(SAMPLE_REQUEST.buffer).getUint32(length - 4), expected);
  // USERNAME and MESSAGE-INTEGRITY are comprehension-required: we owe a 401, we send nothing.
  assertEquals(isPlainBindingRequest(SAMPLE_REQUEST, length), false);
  assertEquals(reason(parseStunResponse(SAMPLE_REQUEST)), "not-a-response");
});

Deno.test("the fingerprint of an RFC 5769 response is checked: one flipped bit anywhere rejects", () => {
  for (const at of [9, 25, 45, 70]) {
    const copy = SAMPLE_IPV4_RESPONSE.slice();
    copy[at] ^= 0x01;
    assertEquals(reason(parseStunResponse(copy)), "fingerprint", `bit flip at ${at}`);
  }
});

Deno.test("our request: 44 bytes, SOFTWARE + FINGERPRINT, answered as a plain request", () => {
  const id = hex("0102030405060708090a0b0c");
  const request = encodeBindingRequest(id);
  assertEquals(request.length, BINDING_REQUEST_BYTES);
  assertEquals(request.length, 44);
  assertTrue(isPlainBindingRequest(request, request.length));
  // A bare 20-byte request (what most clients send) is answered too.
  const bare = request.slice(0, 20);
  bare[3] = 0;
  assertTrue(isPlainBindingRequest(bare, 20));
});

Deno.test("our answer round-trips for IPv4 and IPv6, sizes 40 and 52, fingerprint valid", () => {
  const request = encodeBindingRequest(SAMPLE_ID);
  const out = new Uint8Array(MAX_BINDING_SUCCESS_BYTES);
  const v4 = writeBindingSuccess(out, request, Uint8Array.of(192, 0, 2, 1), 32853);
  assertEquals(v4, 40);
  // The same XOR-MAPPED-ADDRESS bytes as RFC 5769's vector.
  assertEquals([...out.subarray(20, 32)], [...hex("0020 0008 0001a147 e112a643")]);
  const parsed = accepted(parseStunResponse(out.slice(0, v4)));
  assertTrue(parsed.fingerprint);
  assertEquals(formatIpAddress(parsed.mapped!.address), "192.0.2.1");
  const v6address = hex("20010db8123456780011223344556677");
  const v6 = writeBindingSuccess(out, request, v6address, 32853);
  assertEquals(v6, 52);
  // The same XOR'd address as RFC 5769's IPv6 vector (same transaction ID).
  assertEquals([...out.subarray(24, 44)], [
    ...hex("0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9"),
  ]);
  const parsed6 = accepted(parseStunResponse(out.slice(0, v6)));
  assertEquals([...parsed6.mapped!.address], [...v6address]);
});

function response(attributes: string, type = "0101"): Uint8Array {
  const body = hex(attributes);
  const out = new Uint8Array(20 + body.length);
  out.set(hex(type), 0);
  out[2] = body.length >> 8;
  out[3] = body.length & 0xff;
  out.set(hex("2112a442"), 4);
  out.set(SAMPLE_ID, 8);
  out.set(body, 20);
  return out;
}

Deno.test("MAPPED-ADDRESS accepted; XOR-MAPPED-ADDRESS (also 0x8020) preferred", () => {
  const plain = accepted(parseStunResponse(response("0001 0008 00010050 c6336401")));
  assertEquals(formatIpAddress(plain.mapped!.address), "198.51.100.1");
  assertEquals(plain.mapped!.port, 80);
  assertEquals(plain.fingerprint, false);
  const both = accepted(
    parseStunResponse(response("0001 0008 00010050 c6336401 8020 0008 0001a147 e112a643")),
  );
  assertEquals(formatIpAddress(both.mapped!.address), "192.0.2.1");
});

Deno.test("error responses carry their code; a success without an address is rejected", () => {
  const error = accepted(parseStunResponse(response("0009 0008 00000401 61626364", "0111")));
  assertEquals(error.type, BINDING_ERROR);
  assertEquals(error.errorCode, 401);
  assertEquals(reason(parseStunResponse(response("8022 0004 61626364"))), "address");
  assertEquals(reason(parseStunResponse(response("", "0111"))), "attribute");
});

Deno.test("strict: cookie, top bits, length, padding room, families, fingerprint last", () => {
  const good = response("0020 0008 0001a147 e112a643");
  assertEquals(reason(parseStunResponse(good)), "accepted");
  const noCookie = good.slice();
  noCookie[4] = 0;
  assertEquals(reason(parseStunResponse(noCookie)), "header");
  const topBits = good.slice();
  topBits[0] |= 0x40;
  assertEquals(reason(parseStunResponse(topBits)), "header");
  assertEquals(reason(parseStunResponse(good.slice(0, good.length - 4))), "header");
  assertEquals(reason(parseStunResponse(good.slice(0, 10))), "length");
  const extra = new Uint8Array(good.length + 4);
  extra.set(good);
  assertEquals(reason(parseStunResponse(extra)), "header");
  // An attribute whose padded value runs past the end.
  assertEquals(reason(parseStunResponse(response("8022 0005 61626364"))), "attribute");
  // A family that is neither IPv4 nor IPv6, and an IPv4 value of the wrong length.
  assertEquals(reason(parseStunResponse(response("0020 0008 0003a147 e112a643"))), "address");
  assertEquals(
    reason(parseStunResponse(response("0020 000c 0001a147 e112a643 00000000"))),
    "address",
  );
  // A FINGERPRINT that is not last.
  assertEquals(
    reason(parseStunResponse(response("8028 0004 00000000 0020 0008 0001a147 e112a643"))),
    "fingerprint",
  );
  // A request is not a response.
  assertEquals(reason(parseStunResponse(response("", "0001"))), "not-a-response");
});

Deno.test("unknown comprehension-required attributes reject a response; optional ones are skipped", () => {
  const xma = "0020 0008 0001a147 e112a643";
  assertEquals(
    reason(parseStunResponse(response(`${xma} 7f00 0004 00000000`))),
    "unknown-required",
  );
  assertEquals(reason(parseStunResponse(response(`${xma} 8fff 0004 00000000`))), "accepted");
  // MESSAGE-INTEGRITY is known and not verified (RFC 5769's vectors carry one).
  assertEquals(
    reason(parseStunResponse(response(`${xma} 0008 0014 ${"00".repeat(20)}`))),
    "accepted",
  );
});

Deno.test("requests: only plain Binding requests are answered", () => {
  const request = encodeBindingRequest(SAMPLE_ID);
  const badFingerprint = request.slice();
  badFingerprint[request.length - 1] ^= 1;
  assertEquals(isPlainBindingRequest(badFingerprint, badFingerprint.length), false);
  const notBinding = request.slice();
  notBinding[1] = 0x03; // Allocate (TURN)
  assertEquals(isPlainBindingRequest(notBinding, notBinding.length), false);
  const indication = request.slice();
  indication[1] = 0x11; // Binding indication
  assertEquals(isPlainBindingRequest(indication, indication.length), false);
  assertEquals(isPlainBindingRequest(request, request.length - 1), false);
  assertEquals(isPlainBindingRequest(request.subarray(0, 19), 19), false);
});
