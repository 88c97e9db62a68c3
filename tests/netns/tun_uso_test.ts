/**
 * USO towards a real TUN: the super-packets `lib/device/udp_coalescer.ts` makes of one flow's
 * datagrams are written to a TUN opened with a virtio-net header and USO, in a fresh namespace,
 * and a UDP socket there receives every datagram, intact and in order (IPv4 and IPv6): the
 * kernel takes our GSO_UDP_L4 header, lengths and partial checksum. Skipped, saying so, where
 * the kernel does not offer USO (before Linux 6.2), as the device then writes datagrams plain.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_USO4, TUN_F_USO6 } from "../../ffi/tun.ts";
import { IS_ROOT, SKIP_REASON, uniqueTag, withNamespaces } from "./helpers/netns.ts";
import { coalesceRig, udpFlow } from "../data_path/coalesce_rig.ts";

if (!IS_ROOT) console.log(SKIP_REASON);

const USO = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "netns: UDP super-packets written to a USO TUN reach a socket as every datagram, in order",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const tun = await agent.call("tun.open", {
        name: `mgt${uniqueTag()}`,
        vnetHeader: true,
        offload: USO,
      });
      if (tun.offload !== USO) {
        console.log("USO test skipped: this kernel refuses TUN_F_USO4/6 (Linux < 6.2)");
        return;
      }
      const { index } = await agent.call("nl.linkIndex", { name: tun.name });
      await agent.call("nl.setMtu", { link: index, mtu: 1420 });
      await agent.call("nl.setLinkUp", { link: index });
      // The flows run 10.99.0.1:40000 → 10.99.0.2:5201 and fd99:6d67::1 → ::2 (offload_packets).
      await agent.call("nl.addAddress", { link: index, address: "10.99.0.2", prefix: 16 });
      await agent.call("nl.addAddress", { link: index, address: "fd99:6d67::2", prefix: 64 });
      const socket = await agent.call("udp.open", { port: 5201, receiveBufferBytes: 1 << 20 });
      const { cut, batch } = await coalesceRig();
      for (const v6 of [false, true]) {
        const sent = udpFlow(cut, { v6, payload: 20 * 1000 + 333, gsoSize: 1000, seed: 3 });
        const writes = batch(sent);
        assertEquals(writes.length, 1, "one super-packet");
        assertEquals(writes[0][1], 5, "GSO_UDP_L4");
        const { written } = await agent.call("tun.write", { id: tun.id, hex: hex(writes[0]) });
        assertEquals(written, writes[0].length, "the kernel took the super-packet");
        const ip = v6 ? 40 : 20;
        for (const [i, datagram] of sent.entries()) {
          const got = await agent.call("udp.receiveFrom", { id: socket.id, timeoutMs: 5000 });
          assertTrue(got.hex !== null, `${v6 ? "IPv6" : "IPv4"} datagram ${i} did not arrive`);
          assertEquals(got.hex, hex(datagram.subarray(ip + 8)), `datagram ${i}, in order`);
          assertEquals(got.address, v6 ? "fd99:6d67::1" : "10.99.0.1");
          assertEquals(got.port, 40000);
        }
      }
      const extra = await agent.call("udp.receiveFrom", { id: socket.id, timeoutMs: 200 });
      assertEquals(extra.hex, null, "nothing more, nothing twice");
    }),
});
