/**
 * Service policies on the in-process data path: the real data path loops (several per device)
 * enforce the shared policy table on decrypted packets, and the shared flow table lets replies
 * to this node's own connections through a default deny, whichever loop sealed the request.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { parsePolicyText } from "../../lib/policy/policy_parser.ts";
import type { DevicePolicy } from "../../lib/policy/device_policy.ts";
import { DeviceLab, type InProcessDevice } from "./in_process_device.ts";
import { type PacketSpec, policyPacket } from "../unit/policy_packets.ts";

const A = "10.99.0.1";
const B = "10.99.0.2";
const C = "10.99.0.3";
const TCP = 6;
const UDP = 17;

function policy(
  defaultAction: "allow" | "deny",
  global: string,
  peers: [InProcessDevice, string][] = [],
): DevicePolicy {
  return {
    defaultAction,
    global: { name: "global.policy", rules: parsePolicyText(global, "global.policy") },
    peers: peers.map(([device, text]) => ({
      wireguardKey: device.engine.publicKey,
      peer: { name: "peer/x.policy", rules: parsePolicyText(text, "peer/x.policy") },
      org: null,
    })),
    enforcing: true,
  };
}

async function lab3() {
  const lab = new DeviceLab(14);
  const a = await lab.add("192.0.2.1:51820", { workers: 2 });
  const b = await lab.add("192.0.2.2:51820", { workers: 2 });
  const c = await lab.add("192.0.2.3:51820", { workers: 2 });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  lab.pair(a, c, [`${A}/32`], [`${C}/32`]);
  // Sessions first (a keepalive-sized exchange), so every test packet is a transport packet.
  b.tun.send(policyPacket({ from: B, to: A, protocol: 1 }));
  c.tun.send(policyPacket({ from: C, to: A, protocol: 1 }));
  lab.settle();
  return { lab, a, b, c };
}

/** Sends `spec` from `from` and says whether `to` delivered exactly it. */
function passes(lab: DeviceLab, from: InProcessDevice, to: InProcessDevice, spec: PacketSpec) {
  const packet = policyPacket(spec);
  const before = to.tun.written.length;
  from.tun.send(packet);
  lab.settle();
  const got = to.tun.packets().slice(before).map(encodeHex);
  return got.length === 1 && got[0] === encodeHex(packet);
}

Deno.test("policy on the data path: default deny, tcp 80 for all, tcp 22 for one peer, a UDP rule, ICMP", async () => {
  const { lab, a, b, c } = await lab3();
  a.setPolicy(policy("deny", "allow tcp 80\nallow udp 53", [[b, "allow tcp 22"]]));
  const tcp = (from: string, port: number): PacketSpec => ({
    from,
    to: A,
    protocol: TCP,
    destinationPort: port,
    flags: 0x02,
  });
  assertTrue(passes(lab, b, a, tcp(B, 22)), "b may reach 22");
  assertEquals(passes(lab, c, a, tcp(C, 22)), false, "c may not");
  assertTrue(passes(lab, c, a, tcp(C, 80)), "everyone may reach 80");
  assertTrue(passes(lab, b, a, tcp(B, 80)));
  assertTrue(passes(lab, c, a, { from: C, to: A, protocol: 1 }), "ping passes");
  assertTrue(passes(lab, c, a, { from: C, to: A, protocol: UDP, destinationPort: 53 }));
  assertEquals(passes(lab, c, a, { from: C, to: A, protocol: UDP, destinationPort: 54 }), false);
  assertEquals(passes(lab, c, a, tcp(C, 443)), false);
  // Outbound is not filtered: a reaches anything on c, which has no policy.
  assertTrue(passes(lab, a, c, { from: A, to: C, protocol: TCP, destinationPort: 5432 }));
  const drops = a.policyDrops();
  assertEquals(drops[0], { source: "default", rule: "deny", drops: 3 });
  // The drops happened in the loops, after decryption: the WireGuard layer saw no loss.
  for (const loop of a.loops) assertEquals(loop.plane.stats.transportDropped, 0);
});

Deno.test("policy on the data path: replies to connections a opened pass a default deny, across loops", async () => {
  const { lab, a, c } = await lab3();
  a.setPolicy(policy("deny", "allow tcp 80"));
  const queuesUsed = new Set<number>();
  for (let i = 0; i < 12; i++) {
    const port = 41000 + i;
    // a opens a connection to c:22 (SYN), c answers from 22 (SYN-ACK), then data.
    const syn = policyPacket({
      from: A,
      to: C,
      protocol: TCP,
      sourcePort: port,
      destinationPort: 22,
      flags: 0x02,
    });
    queuesUsed.add(a.tun.send(syn));
    lab.settle();
    assertTrue(
      passes(lab, c, a, {
        from: C,
        to: A,
        protocol: TCP,
        sourcePort: 22,
        destinationPort: port,
        flags: 0x12,
      }),
      `reply on flow ${port}`,
    );
    // The same ports the other way round were never opened by a: dropped.
    assertEquals(
      passes(lab, c, a, {
        from: C,
        to: A,
        protocol: TCP,
        sourcePort: port,
        destinationPort: 22,
        flags: 0x02,
      }),
      false,
    );
  }
  // c's datagrams all reach one of a's sockets (one loop opens them all), while the SYNs were
  // read (and recorded) by both loops: some replies were admitted by a loop that did not see
  // their SYN.
  assertEquals(queuesUsed.size, 2);
  // A reply to a UDP request a sent.
  assertEquals(
    passes(lab, c, a, { from: C, to: A, protocol: UDP, sourcePort: 53, destinationPort: 5000 }),
    false,
  );
  a.tun.send(
    policyPacket({ from: A, to: C, protocol: UDP, sourcePort: 5000, destinationPort: 53 }),
  );
  lab.settle();
  assertTrue(
    passes(lab, c, a, { from: C, to: A, protocol: UDP, sourcePort: 53, destinationPort: 5000 }),
  );
});

Deno.test("policy on the data path: a live change takes effect on the next packet, and follows peer changes", async () => {
  const { lab, a, b, c } = await lab3();
  const ssh = (from: string): PacketSpec => ({ from, to: A, protocol: TCP, destinationPort: 22 });
  assertTrue(passes(lab, c, a, ssh(C)), "no policy: allow");
  a.setPolicy(policy("deny", "allow tcp 80", [[b, "allow tcp 22"]]));
  assertEquals(passes(lab, c, a, ssh(C)), false);
  a.setPolicy(policy("deny", "allow tcp 80", [[b, "allow tcp 22"], [c, "allow tcp 22"]]));
  assertTrue(passes(lab, c, a, ssh(C)), "c's new peer file applies at once");
  // b is removed and added again (a new peer id): its peer policy follows it.
  const key = encodeHex(b.engine.publicKey);
  assertEquals(a.answer(`set=1\npublic_key=${key}\nremove=true\n\n`), "errno=0\n\n");
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  // a has forgotten the session: it starts a new one.
  a.tun.send(policyPacket({ from: A, to: B, protocol: 1 }));
  lab.settle();
  assertTrue(passes(lab, b, a, ssh(B)), "b's policy after it came back");
  a.setPolicy(policy("allow", "deny tcp 22"));
  assertEquals(passes(lab, b, a, ssh(B)), false, "allow default with a deny rule");
  assertTrue(passes(lab, b, a, { from: B, to: A, protocol: TCP, destinationPort: 23 }));
});
