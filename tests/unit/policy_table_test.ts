import { assertEquals, assertTrue } from "../assert.ts";
import { mulberry32 } from "../swim/sim/prng.ts";
import { PacketClass } from "../../lib/policy/packet_classifier.ts";
import { evaluatePolicy } from "../../lib/policy/policy_evaluator.ts";
import { parsePolicyText } from "../../lib/policy/policy_parser.ts";
import { emptyPolicySet, type PolicyFile, type PolicySet } from "../../lib/policy/policy_rules.ts";
import { PolicyTable } from "../../lib/policy/policy_table.ts";
import { FlowTable } from "../../lib/policy/flow_table.ts";
import { PolicyGate, UDP_FLOW_SECONDS } from "../../lib/policy/policy_gate.ts";
import { policyPacket } from "./policy_packets.ts";

const TCP = 6;
const UDP = 17;

function file(name: string, text: string): PolicyFile {
  return { name, rules: parsePolicyText(text, name) };
}

Deno.test("packet classifier: IPv4 and IPv6 ports, flags, fragments, extension headers", () => {
  const c = new PacketClass();
  const check = (packet: Uint8Array, expected: Partial<PacketClass>) => {
    // Placed at an offset in a larger buffer, as packets lie in wasm memory.
    const memory = new Uint8Array(packet.length + 100);
    memory.set(packet, 37);
    assertTrue(c.classify(memory, 37, packet.length));
    for (const [key, value] of Object.entries(expected)) {
      assertEquals(c[key as keyof PacketClass], value, key);
    }
  };
  check(
    policyPacket({
      from: "10.99.0.1",
      to: "10.99.0.2",
      protocol: TCP,
      destinationPort: 22,
      flags: 2,
    }),
    {
      version: 4,
      protocol: TCP,
      destinationPort: 22,
      sourcePort: 40000,
      tcpFlags: 2,
      fragment: 0,
    },
  );
  check(policyPacket({ from: "10.99.0.1", to: "10.99.0.2", protocol: UDP, destinationPort: 53 }), {
    protocol: UDP,
    destinationPort: 53,
  });
  check(
    policyPacket({
      from: "10.99.0.1",
      to: "10.99.0.2",
      protocol: UDP,
      destinationPort: 53,
      fragment: { offset: 0, more: true, id: 77 },
    }),
    { fragment: 1, fragmentId: 77, destinationPort: 53 },
  );
  check(
    policyPacket({
      from: "10.99.0.1",
      to: "10.99.0.2",
      protocol: UDP,
      fragment: { offset: 185, more: false, id: 77 },
    }),
    { fragment: 2, fragmentId: 77, destinationPort: -1, protocol: UDP },
  );
  check(
    policyPacket({ from: "fd99:6d67::1", to: "fd99:6d67::2", protocol: TCP, destinationPort: 443 }),
    { version: 6, protocol: TCP, destinationPort: 443, addressLength: 16 },
  );
  // Hop-by-hop, routing and destination options are walked to the TCP header.
  check(
    policyPacket({
      from: "fd99:6d67::1",
      to: "fd99:6d67::2",
      protocol: TCP,
      destinationPort: 22,
      extensions: [0, 43, 60],
    }),
    { protocol: TCP, destinationPort: 22, fragment: 0 },
  );
  check(
    policyPacket({
      from: "fd99:6d67::1",
      to: "fd99:6d67::2",
      protocol: UDP,
      destinationPort: 5353,
      extensions: [60],
      fragment: { offset: 0, more: true, id: 0xdeadbeef },
    }),
    { protocol: UDP, destinationPort: 5353, fragment: 1, fragmentId: 0xdeadbeef },
  );
  check(
    policyPacket({
      from: "fd99:6d67::1",
      to: "fd99:6d67::2",
      protocol: UDP,
      fragment: { offset: 100, more: false, id: 5 },
    }),
    { protocol: UDP, destinationPort: -1, fragment: 2, fragmentId: 5 },
  );
  // More than 8 extension headers: unclassifiable (no port, protocol 59).
  check(
    policyPacket({
      from: "fd99:6d67::1",
      to: "fd99:6d67::2",
      protocol: TCP,
      destinationPort: 22,
      extensions: [0, 60, 60, 60, 60, 60, 60, 60, 60],
    }),
    { protocol: 59, destinationPort: -1 },
  );
  // Truncated TCP: the protocol is known, the port is not.
  const short = policyPacket({ from: "10.99.0.1", to: "10.99.0.2", protocol: TCP });
  check(short.subarray(0, 22), { protocol: TCP, destinationPort: -1 });
  assertEquals(c.classify(new Uint8Array(10), 0, 10), false);
});

Deno.test("policy table: the workers' compiled decision equals the reference evaluation", () => {
  const random = mulberry32(14);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const ruleText = () => {
    const action = pick(["allow", "deny"]);
    const form = random();
    if (form < 0.1) return `${action} all`;
    const protocol = pick(["tcp", "udp", "all"]);
    if (form < 0.25) return `${action} ${protocol} all`;
    const low = 1 + Math.floor(random() * 100);
    return random() < 0.5
      ? `${action} ${protocol} ${low}`
      : `${action} ${protocol} ${low}-${low + Math.floor(random() * 30)}`;
  };
  const fileText = () => Array.from({ length: Math.floor(random() * 8) }, ruleText).join("\n");
  for (let round = 0; round < 40; round++) {
    const set: PolicySet = emptyPolicySet();
    set.defaultAction = pick(["allow", "deny"]);
    set.global = random() < 0.8 ? file("global.policy", fileText()) : null;
    const org = file("org/acme.policy", fileText());
    set.orgs.set("acme", org);
    const table = PolicyTable.create(8);
    const rows = new Map<number, { peer: PolicyFile | null; org: PolicyFile | null }>();
    for (let peer = 0; peer < 8; peer++) {
      const own = random() < 0.6 ? file(`peer/p${peer}.policy`, fileText()) : null;
      if (own) set.peers.set(`p${peer}`, own);
      rows.set(peer, { peer: own, org: peer % 2 === 0 ? org : null });
    }
    table.publish({ defaultAction: set.defaultAction, global: set.global, rows, enforcing: true });
    for (let i = 0; i < 400; i++) {
      const peer = Math.floor(random() * 8);
      const protocol = pick([TCP, UDP, 47]);
      const port = random() < 0.1 ? -1 : Math.floor(random() * 140);
      const expected = evaluatePolicy(
        set,
        `p${peer}`,
        peer % 2 === 0 ? "acme" : undefined,
        protocol,
        port,
      );
      const verdict = table.decide(peer, protocol, port);
      assertEquals((verdict & 1) === 1 ? "allow" : "deny", expected.action, `round ${round} #${i}`);
      const drops = table.drops();
      assertEquals(
        drops[verdict >>> 1].source,
        expected.rule?.source ?? "default",
        `round ${round} #${i}: deciding rule`,
      );
    }
  }
});

Deno.test("policy table: drop counters per rule survive a reload for rules that stayed", () => {
  const table = PolicyTable.create(4);
  const global = file("global.policy", "allow tcp 80\ndeny tcp 22");
  table.publish({ defaultAction: "deny", global, rows: new Map(), enforcing: true });
  const deny22 = table.decide(0, TCP, 22);
  assertEquals(deny22 & 1, 0);
  table.countDrop(deny22);
  table.countDrop(deny22);
  table.countDrop(table.decide(0, UDP, 9));
  assertEquals(table.drops().map((d) => `${d.source} ${d.rule} ${d.drops}`), [
    "default deny 1",
    "global.policy:1 allow tcp 80 0",
    "global.policy:2 deny tcp 22 2",
  ]);
  // Same lines reloaded plus a new one: the old counts stay, the new rule starts at 0.
  const edited = file("global.policy", "allow tcp 80\ndeny tcp 22\ndeny udp 9");
  table.publish({ defaultAction: "deny", global: edited, rows: new Map(), enforcing: true });
  assertEquals(table.drops().map((d) => d.drops), [1, 0, 2, 0]);
  assertEquals(table.enforcing, true);
  table.publish({ defaultAction: "allow", global: null, rows: new Map(), enforcing: false });
  assertEquals(table.enforcing, false);
  assertEquals(table.decide(0, TCP, 22) & 1, 1);
});

function gateWith(policy: { defaultAction: "allow" | "deny"; global: string }) {
  const table = PolicyTable.create(4);
  table.publish({
    defaultAction: policy.defaultAction,
    global: file("global.policy", policy.global),
    rows: new Map(),
    enforcing: true,
  });
  const flows = FlowTable.create();
  // Two workers: the flow is noted on one and its reply admitted on the other.
  return [
    new PolicyGate(table, flows),
    new PolicyGate(PolicyTable.attach(table.buffer, 4), FlowTable.attach(flows.buffer)),
  ];
}

Deno.test("policy gate: ICMP always passes, replies to our flows pass, others are dropped", () => {
  const [out, into] = gateWith({ defaultAction: "deny", global: "allow tcp 80" });
  const now = 1_000_000;
  const admit = (packet: Uint8Array, t = now) => into.admitInbound(0, packet, 0, packet.length, t);
  const note = (packet: Uint8Array, t = now) => out.noteOutbound(packet, 0, packet.length, t);
  const peerIp = "10.99.0.2";
  const us = "10.99.0.1";
  assertTrue(admit(policyPacket({ from: peerIp, to: us, protocol: 1 })), "ICMP");
  assertTrue(
    admit(policyPacket({ from: "fd99:6d67::2", to: "fd99:6d67::1", protocol: 58 })),
    "ICMPv6",
  );
  assertTrue(admit(policyPacket({ from: peerIp, to: us, protocol: TCP, destinationPort: 80 })));
  assertEquals(
    admit(policyPacket({ from: peerIp, to: us, protocol: TCP, destinationPort: 22 })),
    false,
  );
  // We open tcp 41000 → 22 on the peer: its answers (22 → 41000) pass, only from that address.
  const reply = { protocol: TCP, sourcePort: 22, destinationPort: 41000 };
  assertEquals(admit(policyPacket({ from: peerIp, to: us, ...reply })), false);
  note(
    policyPacket({
      from: us,
      to: peerIp,
      protocol: TCP,
      sourcePort: 41000,
      destinationPort: 22,
      flags: 0x10,
    }),
  );
  assertEquals(
    admit(policyPacket({ from: peerIp, to: us, ...reply })),
    false,
    "an ACK opens nothing",
  );
  note(
    policyPacket({
      from: us,
      to: peerIp,
      protocol: TCP,
      sourcePort: 41000,
      destinationPort: 22,
      flags: 0x02,
    }),
  );
  assertTrue(admit(policyPacket({ from: peerIp, to: us, ...reply })));
  assertEquals(admit(policyPacket({ from: "10.99.0.3", to: us, ...reply })), false, "another host");
  assertEquals(
    admit(policyPacket({ from: peerIp, to: us, ...reply, protocol: UDP })),
    false,
    "udp",
  );
  assertEquals(
    admit(
      policyPacket({ from: peerIp, to: us, protocol: TCP, sourcePort: 22, destinationPort: 41001 }),
    ),
    false,
  );
  // UDP: any outbound packet opens the flow; it expires after UDP_FLOW_SECONDS idle.
  note(
    policyPacket({ from: us, to: peerIp, protocol: UDP, sourcePort: 5000, destinationPort: 53 }),
  );
  const udpReply = policyPacket({
    from: peerIp,
    to: us,
    protocol: UDP,
    sourcePort: 53,
    destinationPort: 5000,
  });
  assertTrue(admit(udpReply));
  assertTrue(admit(udpReply, now + (UDP_FLOW_SECONDS - 1) * 1000));
  assertEquals(admit(udpReply, now + (UDP_FLOW_SECONDS + 2) * 1000), false);
  assertEquals(into.stats.replies, 3);
  const drops = into.table.drops();
  assertEquals(drops[0].source, "default");
  assertTrue(drops[0].drops >= 6, `default drops ${drops[0].drops}`);
});

Deno.test("policy gate: later fragments follow their admitted first fragment, else the default", () => {
  const [, gate] = gateWith({ defaultAction: "deny", global: "allow udp 5353" });
  const now = 2_000_000;
  const admit = (packet: Uint8Array) => gate.admitInbound(0, packet, 0, packet.length, now);
  for (const [from, to] of [["10.99.0.2", "10.99.0.1"], ["fd99:6d67::2", "fd99:6d67::1"]]) {
    const first = (id: number, port: number) =>
      policyPacket({
        from,
        to,
        protocol: UDP,
        destinationPort: port,
        fragment: { offset: 0, more: true, id },
      });
    const later = (id: number) =>
      policyPacket({ from, to, protocol: UDP, fragment: { offset: 185, more: false, id } });
    assertEquals(admit(later(9)), false, "a later fragment with no first one: the default");
    // An identification past 2^31 (IPv6's is 32 bits) is stored and found all the same.
    assertTrue(admit(first(0xdeadbeef, 5353)));
    assertTrue(admit(later(0xdeadbeef)), "a large fragment id follows too");
    assertTrue(admit(first(9, 5353)));
    assertTrue(admit(later(9)), "follows its first fragment");
    assertEquals(admit(first(10, 22)), false);
    assertEquals(admit(later(10)), false, "the first fragment was denied");
  }
  assertEquals(gate.stats.fragments, 4);
});

Deno.test("policy gate: nothing is checked or recorded while the table cannot drop", () => {
  const table = PolicyTable.create(2);
  const flows = FlowTable.create();
  const gate = new PolicyGate(table, flows);
  const packet = policyPacket({
    from: "10.99.0.1",
    to: "10.99.0.2",
    protocol: UDP,
    destinationPort: 9,
  });
  gate.noteOutbound(packet, 0, packet.length, 1000);
  assertEquals(flows.live(1), 0);
  assertTrue(gate.admitInbound(0, packet, 0, packet.length, 1000));
});
