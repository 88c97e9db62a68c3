import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { type DeviceKind, interopSkipReason, Lab, run } from "./helpers/lab.ts";

const skip = interopSkipReason();
if (skip) console.log(skip);

/** Transfers `bytes` over TCP from side `from` to side `to` and checks they arrive intact. */
async function tcpTransfer(lab: Lab, from: number, to: number, bytes: number, address: string) {
  const server = lab.traffic(to, "tcp-server", address, "7000");
  await server.waitFor(/listening/);
  const client = lab.traffic(from, "tcp-client", address, "7000", String(bytes));
  const sent = await client.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
  const received = await server.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
  assertEquals(received, sent);
  assertTrue(sent.startsWith(`${bytes} `));
}

/** Sends 200 UDP datagrams from side `from` to `to`; all should arrive on a clean veth. */
async function udpTransfer(lab: Lab, from: number, to: number, address: string) {
  const server = lab.traffic(to, "udp-server", address, "7001", "200");
  await server.waitFor(/listening/);
  const client = lab.traffic(from, "udp-client", address, "7001", "200");
  await client.waitFor(/^200$/m);
  const count = Number(await server.waitFor(/^\d+$/m, 30_000));
  assertTrue(count >= 190, `${count} of 200 datagrams arrived`);
}

function interopTest(kinds: [DeviceKind, DeviceKind], initiator: 0 | 1) {
  const name = `interop: ${kinds[0]} ↔ ${kinds[1]}, side ${initiator} (${kinds[initiator]}) ` +
    `initiates; ICMP, UDP and TCP both ways over IPv4 and IPv6; wg show`;
  Deno.test({
    name,
    ignore: skip !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const lab = await Lab.create(kinds);
      try {
        const other = 1 - initiator;
        await lab.ping(initiator, lab.sides[other].meshIpv4);
        await lab.ping(other, lab.sides[initiator].meshIpv4);
        await lab.ping(initiator, lab.sides[other].meshIpv6);
        await lab.ping(other, lab.sides[initiator].meshIpv6);
        await udpTransfer(lab, 0, 1, lab.sides[1].meshIpv4);
        await udpTransfer(lab, 1, 0, lab.sides[0].meshIpv6);
        await tcpTransfer(lab, 0, 1, 100_000_000, lab.sides[1].meshIpv4);
        await tcpTransfer(lab, 1, 0, 10_000_000, lab.sides[0].meshIpv6);
        for (let i = 0; i < 2; i++) {
          const shown = await lab.wg(i, "show", lab.sides[i].interfaceName, "dump");
          const peerLine = shown.trim().split("\n")[1].split("\t");
          // public-key psk endpoint allowed-ips latest-handshake rx tx keepalive
          assertEquals(peerLine[0], lab.sides[1 - i].publicKey);
          assertEquals(peerLine[2], `${lab.sides[1 - i].underlay}:51820`);
          const handshake = Number(peerLine[4]);
          assertTrue(Math.abs(Date.now() / 1000 - handshake) < 300, `handshake ${handshake}`);
          assertTrue(Number(peerLine[5]) > 10_000_000 && Number(peerLine[6]) > 10_000_000);
        }
        const human = await lab.wg(0, "show", lab.sides[0].interfaceName);
        assertIncludes(human, "latest handshake");
      } finally {
        await lab.dispose();
      }
      const left = await run("ip", "netns", "list");
      assertTrue(!left.includes(lab.sides[0]?.namespace ?? "none"), left);
    },
  });
}

interopTest(["meshguard", "wireguard-go"], 0);
interopTest(["meshguard", "wireguard-go"], 1);
interopTest(["meshguard", "meshguard"], 0);
