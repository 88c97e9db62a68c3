import { assertEquals, assertTrue } from "../assert.ts";
import { CookieChecker, CookieJar } from "../../lib/wireguard/cookie.ts";
import { COOKIE_SECRET_MAX_AGE } from "../../lib/wireguard/constants.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { createInitiation } from "../../lib/wireguard/handshake.ts";
import { tai64n } from "../../lib/wireguard/tai64n.ts";
import { newStatic, primitives as p } from "./wireguard_fixture.ts";

function initiationFor(responderPublicKey: Uint8Array): Uint8Array {
  return createInitiation(p, newStatic(), responderPublicKey, 9, tai64n(1))!.message;
}

Deno.test("MAC1 is valid only for the responder's own public key", () => {
  const responder = newStatic();
  const checker = new CookieChecker(p, responder.publicKey, 0);
  const message = initiationFor(responder.publicKey);
  new CookieJar(p, responder.publicKey).addMacs(message, 0);
  assertTrue(checker.checkMac1(message));
  const wrongKey = initiationFor(responder.publicKey);
  new CookieJar(p, newStatic().publicKey).addMacs(wrongKey, 0);
  assertTrue(!checker.checkMac1(wrongKey));
  const tampered = message.slice();
  tampered[20] ^= 1;
  assertTrue(!checker.checkMac1(tampered));
});

Deno.test("cookie reply round trip: MAC2 becomes valid for that source only, and expires", () => {
  const responder = newStatic();
  const source = parseEndpoint("192.0.2.7:51820");
  const checker = new CookieChecker(p, responder.publicKey, 0);
  const jar = new CookieJar(p, responder.publicKey);
  const first = initiationFor(responder.publicKey);
  jar.addMacs(first, 1_000);
  assertEquals(first.subarray(132), new Uint8Array(16)); // no cookie yet: MAC2 is zero
  assertTrue(!checker.checkMac2(first, source, 1_000));

  const reply = checker.createReply(first, source, 1_000);
  assertEquals(reply.length, 64);
  assertEquals(reply[0], 3);
  assertEquals(reply.subarray(4, 8), first.subarray(4, 8));
  assertTrue(jar.consumeReply(reply, 1_100));
  assertTrue(!jar.consumeReply(reply, 1_100)); // a replayed reply is not taken twice

  const second = initiationFor(responder.publicKey);
  jar.addMacs(second, 2_000);
  assertTrue(checker.checkMac1(second));
  assertTrue(checker.checkMac2(second, source, 2_000));
  assertTrue(!checker.checkMac2(second, parseEndpoint("192.0.2.7:51821"), 2_000));
  assertTrue(!checker.checkMac2(second, parseEndpoint("[2001:db8::7]:51820"), 2_000));

  // Once the responder rotates its secret the old cookie no longer works, and the jar stops
  // sending it before that happens.
  assertTrue(!checker.checkMac2(second, source, 1_000 + COOKIE_SECRET_MAX_AGE));
  const late = initiationFor(responder.publicKey);
  jar.addMacs(late, 1_100 + COOKIE_SECRET_MAX_AGE);
  assertEquals(late.subarray(132), new Uint8Array(16));
});

Deno.test("a cookie reply that is forged or answers another message is refused", () => {
  const responder = newStatic();
  const source = parseEndpoint("192.0.2.7:51820");
  const checker = new CookieChecker(p, responder.publicKey, 0);
  const jar = new CookieJar(p, responder.publicKey);
  const sent = initiationFor(responder.publicKey);
  jar.addMacs(sent, 0);
  const other = initiationFor(responder.publicKey);
  new CookieJar(p, responder.publicKey).addMacs(other, 0);
  assertTrue(!jar.consumeReply(checker.createReply(other, source, 0), 0));
  const impostor = new CookieChecker(p, newStatic().publicKey, 0);
  assertTrue(!jar.consumeReply(impostor.createReply(sent, source, 0), 0));
  const good = checker.createReply(sent, source, 0);
  const flipped = good.slice();
  flipped[40] ^= 1;
  assertTrue(!jar.consumeReply(flipped, 0));
  assertTrue(jar.consumeReply(good, 0));
  assertTrue(!new CookieJar(p, responder.publicKey).consumeReply(good, 0)); // nothing sent yet
});
