/**
 * Errors of the FFI layer are typed and carry errno: arguments refused before any call
 * (InvalidArgumentError, EINVAL) in-process, and kernel refusals (SystemCallError,
 * NetlinkError with the kernel's extended-ACK text) inside a namespace.
 */

import { assertEquals, assertIncludes, assertThrows, assertTrue } from "../assert.ts";
import { InvalidArgumentError } from "../../ffi/errors.ts";
import { openTun } from "../../ffi/tun.ts";
import { RouteNetlink } from "../../ffi/rtnetlink.ts";
import { UdpSocket } from "../../ffi/udp_socket.ts";
import {
  ipv4FromMapped,
  ipv4Mapped,
  isIpv4Mapped,
  unmapAddress,
} from "../../ffi/socket_address.ts";
import { AgentError, IS_ROOT, SKIP_REASON, uniqueTag, withNamespaces } from "./helpers/netns.ts";

if (!IS_ROOT) console.log(SKIP_REASON);

Deno.test({
  name: "netns errors: a TUN name longer than 15 bytes is refused with EINVAL before any call",
  ignore: !IS_ROOT,
  fn() {
    assertThrows(() => openTun({ name: "mgt-name-too-long" }), InvalidArgumentError, /at most 15/);
    let caught: unknown;
    try {
      openTun({ name: "x".repeat(16) });
    } catch (error) {
      caught = error;
    }
    if (!(caught instanceof InvalidArgumentError)) throw new Error(`got ${caught}`);
    assertEquals([caught.errno, caught.code], [22, "EINVAL"]);
  },
});

Deno.test({
  name: "netns errors: bad addresses, prefixes and ports are refused with EINVAL",
  ignore: !IS_ROOT,
  fn() {
    // Validation happens before any request reaches the kernel, so the host namespace is safe.
    const netlink = RouteNetlink.open();
    try {
      assertThrows(
        () => netlink.addAddress(1, new Uint8Array(5), 24),
        InvalidArgumentError,
        /4 \(IPv4\) or 16/,
      );
      assertThrows(
        () => netlink.addAddress(1, new Uint8Array(4), 33),
        InvalidArgumentError,
        /prefix length 33/,
      );
      assertThrows(
        () => netlink.addRoute(1, new Uint8Array(16), 129),
        InvalidArgumentError,
        /prefix length 129/,
      );
      assertThrows(() => netlink.setMtu(1, 20), InvalidArgumentError, /MTU 20/);
      assertThrows(() => netlink.setLinkUp(0), InvalidArgumentError, /index 0/);
    } finally {
      netlink.close();
    }
    const socket = UdpSocket.open({ address: new Uint8Array([127, 0, 0, 1]) });
    try {
      const payload = new Uint8Array(8);
      assertThrows(
        () => socket.sendTo(payload, new Uint8Array(5), 9),
        InvalidArgumentError,
        /got 5/,
      );
      assertThrows(
        () => socket.sendTo(payload, new Uint8Array(4), 70000),
        InvalidArgumentError,
        /port 70000/,
      );
      assertThrows(
        () => socket.sendTo(payload, new Uint8Array(4), 9, 9),
        InvalidArgumentError,
        /exceeds/,
      );
    } finally {
      socket.close();
    }
  },
});

Deno.test({
  name: "netns errors: IPv4-mapped address helpers",
  ignore: !IS_ROOT,
  fn() {
    const mapped = ipv4Mapped(new Uint8Array([192, 0, 2, 7]));
    assertTrue(isIpv4Mapped(mapped));
    assertEquals([...ipv4FromMapped(mapped)], [192, 0, 2, 7]);
    assertEquals([...unmapAddress(mapped)], [192, 0, 2, 7]);
    const v6 = new Uint8Array(16).fill(0xfd, 0, 1);
    assertTrue(!isIpv4Mapped(v6));
    assertEquals(unmapAddress(v6), v6);
    assertThrows(() => ipv4FromMapped(v6), InvalidArgumentError, /not an IPv4-mapped/);
  },
});

/** Runs `call` and returns the AgentError it must raise. */
async function refusal(call: () => Promise<unknown>): Promise<AgentError> {
  try {
    await call();
  } catch (error) {
    if (error instanceof AgentError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

Deno.test({
  name: "netns errors: kernel refusals carry errno and an actionable message",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);

      const missing = await refusal(() => agent.call("nl.linkIndex", { name: "mgt-missing" }));
      assertEquals([missing.remoteName, missing.errno, missing.code], [
        "NetlinkError",
        19,
        "ENODEV",
      ]);

      // "lo" exists but is not a TUN device: TUNSETIFF says EINVAL.
      const notTun = await refusal(() => agent.call("tun.open", { name: "lo" }));
      assertEquals([notTun.remoteName, notTun.errno], ["SystemCallError", 22]);
      assertIncludes(notTun.message, "ioctl(TUNSETIFF");

      const tun = await agent.call("tun.open", { name: `mgt${uniqueTag()}` });
      // A route through a link that is down: ENETDOWN with the kernel's reason and our hint.
      const down = await refusal(() =>
        agent.call("nl.addRoute", { link: tun.name, destination: "192.0.2.0", prefix: 24 })
      );
      assertEquals([down.remoteName, down.errno, down.code], ["NetlinkError", 100, "ENETDOWN"]);
      assertIncludes(down.message, "setLinkUp");

      await agent.call("nl.addAddress", { link: tun.name, address: "10.99.1.1", prefix: 16 });
      const duplicate = await refusal(() =>
        agent.call("nl.addAddress", { link: tun.name, address: "10.99.1.1", prefix: 16 })
      );
      assertEquals([duplicate.remoteName, duplicate.errno], ["NetlinkError", 17]);
      assertIncludes(duplicate.message, "replace: true");

      const socket = await agent.call("udp.open", {});
      const taken = await refusal(() => agent.call("udp.open", { port: socket.port }));
      assertEquals([taken.remoteName, taken.errno, taken.code], [
        "SystemCallError",
        98,
        "EADDRINUSE",
      ]);
      assertIncludes(taken.message, "port is in use");

      // No route at all to 192.0.2.1 in this namespace: sendto reports ENETUNREACH.
      const unreachable = await refusal(() =>
        agent.call("udp.sendTo", { id: socket.id, address: "192.0.2.1", port: 9, hex: "00" })
      );
      assertEquals([unreachable.remoteName, unreachable.errno], ["SystemCallError", 101]);
    }),
});
