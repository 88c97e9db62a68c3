/**
 * TUN + rtnetlink inside a fresh namespace: the device gets the requested name, MTU 1420,
 * IPv4 /16 and IPv6 /64 addresses and routes (checked with `ip -j`), and packets cross the TUN
 * in both directions between it and a UDP socket of ffi/udp_socket.ts.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { formatIpAddress, parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";
import {
  type Agent,
  ipJson,
  IS_ROOT,
  SKIP_REASON,
  uniqueTag,
  withNamespaces,
} from "./helpers/netns.ts";
import { ipv4UdpPacket, ipv6UdpPacket, parseIpPacket } from "./helpers/packets.ts";

if (!IS_ROOT) console.log(SKIP_REASON);

const TUN_V4 = "10.99.0.1";
const TUN_V6 = "fd99:6d67::1";
const ROUTE_V4 = "203.0.113.0";
const ROUTE_V6 = "fd99:6d67::100";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** Opens `mgt<tag>` in the agent's namespace and configures it like `meshguard device` will. */
async function configuredTun(agent: Agent): Promise<{ id: number; name: string; index: number }> {
  const requested = `mgt${uniqueTag()}`;
  const tun = await agent.call("tun.open", { name: requested });
  assertEquals(tun.name, requested);
  const { index } = await agent.call("nl.linkIndex", { name: tun.name });
  await agent.call("nl.setMtu", { link: index, mtu: 1420 });
  await agent.call("nl.setLinkUp", { link: index });
  await agent.call("nl.addAddress", { link: index, address: TUN_V4, prefix: 16 });
  await agent.call("nl.addAddress", { link: tun.name, address: TUN_V6, prefix: 64 });
  // Host bits in the destination are masked off by the library (203.0.113.9/24 → .0/24).
  await agent.call("nl.addRoute", { link: index, destination: "203.0.113.9", prefix: 24 });
  await agent.call("nl.addRoute", { link: tun.name, destination: ROUTE_V6, prefix: 120 });
  return { id: tun.id, name: tun.name, index };
}

Deno.test({
  name: "netns: TUN gets its name, MTU 1420, up, IPv4/IPv6 addresses and routes via rtnetlink",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const tun = await configuredTun(agent);

      const [link] = await ipJson(ns, "link", "show", "dev", tun.name);
      assertEquals(link.ifname, tun.name);
      assertEquals(link.ifindex, tun.index);
      assertEquals(link.mtu, 1420);
      assertTrue(link.flags.includes("UP"), `flags ${link.flags}`);

      const [addresses] = await ipJson(ns, "addr", "show", "dev", tun.name);
      const found = addresses.addr_info.map((a: { local: string; prefixlen: number }) =>
        `${a.local}/${a.prefixlen}`
      );
      assertTrue(found.includes(`${TUN_V4}/16`), `addresses ${found}`);
      assertTrue(found.includes(`${TUN_V6}/64`), `addresses ${found}`);

      const v4 = (await ipJson(ns, "-4", "route", "show", "dev", tun.name)).map(
        (r: { dst: string }) => r.dst,
      );
      assertTrue(v4.includes(`${ROUTE_V4}/24`), `IPv4 routes ${v4}`);
      assertTrue(v4.includes("10.99.0.0/16"), `IPv4 routes ${v4}`);
      const v6 = (await ipJson(ns, "-6", "route", "show", "dev", tun.name)).map(
        (r: { dst: string }) => r.dst,
      );
      assertTrue(v6.includes(`${ROUTE_V6}/120`), `IPv6 routes ${v6}`);

      // replace: true overwrites instead of failing with EEXIST.
      await agent.call("nl.addAddress", {
        link: tun.index,
        address: TUN_V4,
        prefix: 16,
        options: { replace: true },
      });
      await agent.call("nl.addRoute", {
        link: tun.index,
        destination: ROUTE_V4,
        prefix: 24,
        options: { replace: true, metric: 7 },
      });

      // Down and up again through rtnetlink.
      await agent.call("nl.setLinkUp", { link: tun.index, up: false });
      const [down] = await ipJson(ns, "link", "show", "dev", tun.name);
      assertTrue(!down.flags.includes("UP"), `flags ${down.flags}`);
      await agent.call("nl.setLinkUp", { link: tun.index, up: true });
    }),
});

Deno.test({
  name: "netns: a packet written to the TUN reaches a UDP socket in the namespace (IPv4, IPv6)",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const tun = await configuredTun(agent);
      const socket = await agent.call("udp.open", {});
      const cases = [
        { build: ipv4UdpPacket, source: "10.99.0.2", destination: TUN_V4, parse: parseIpv4 },
        { build: ipv6UdpPacket, source: "fd99:6d67::2", destination: TUN_V6, parse: parseIpv6 },
      ];
      for (const [i, c] of cases.entries()) {
        const payload = new TextEncoder().encode(`inbound through the tun #${i}`);
        const packet = c.build(
          c.parse(c.source)!,
          c.parse(c.destination)!,
          40000 + i,
          socket.port,
          payload,
        );
        const { written } = await agent.call("tun.write", { id: tun.id, hex: hex(packet) });
        assertEquals(written, packet.length);
        const got = await agent.call("udp.receiveFrom", { id: socket.id, timeoutMs: 5000 });
        assertEquals(got.hex, hex(payload), `datagram ${i} did not arrive`);
        // An IPv4 sender shows up as ::ffff:10.99.0.2 on the dual-stack socket; unmapped here.
        assertEquals(got.address, c.source);
        assertEquals(got.port, 40000 + i);
      }
    }),
});

Deno.test({
  name: "netns: a UDP datagram sent to a TUN-routed address is read from the TUN (IPv4, IPv6)",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const tun = await configuredTun(agent);
      const socket = await agent.call("udp.open", {});
      for (const [i, destination] of ["203.0.113.7", "fd99:6d67::1ab"].entries()) {
        const payload = new TextEncoder().encode(`outbound into the tun #${i}`);
        await agent.call("udp.sendTo", {
          id: socket.id,
          address: destination,
          port: 9999,
          hex: hex(payload),
        });
        const { hex: packetHex } = await agent.call("tun.readMatching", {
          id: tun.id,
          destination,
          timeoutMs: 5000,
        });
        assertTrue(packetHex !== null, `no packet for ${destination} came out of the TUN`);
        const packet = parseIpPacket(unhex(packetHex));
        assertEquals(packet.version, i === 0 ? 4 : 6);
        assertEquals(formatIpAddress(packet.destination), destination);
        assertEquals(packet.protocol, 17);
        assertEquals(packet.destinationPort, 9999);
        assertEquals(hex(packet.payload), hex(payload));
      }
    }),
});

Deno.test({
  name: "netns: multi-queue TUN opens two queues; deleteLink removes the interface",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const name = `mgt${uniqueTag()}`;
      const first = await agent.call("tun.open", { name, multiQueue: true });
      const second = await agent.call("tun.open", { name, multiQueue: true });
      assertEquals([first.name, second.name], [name, name]);
      assertTrue(first.fd !== second.fd);
      await agent.call("nl.deleteLink", { link: name });
      const links = (await ipJson(ns, "link", "show")).map((l: { ifname: string }) => l.ifname);
      assertTrue(!links.includes(name), `links ${links}`);
      await agent.call("tun.close", { id: first.id });
      await agent.call("tun.close", { id: second.id });
    }),
});
