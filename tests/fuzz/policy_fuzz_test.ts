/**
 * Fuzz targets for service policies (issue 14): the `services/` file parser (file input) and the
 * workers' packet check (decrypted packets a peer controls byte for byte).
 */

import { parsePolicyText, PolicyError } from "../../lib/policy/policy_parser.ts";
import { formatRule } from "../../lib/policy/policy_rules.ts";
import { evaluatePolicy } from "../../lib/policy/policy_evaluator.ts";
import { emptyPolicySet } from "../../lib/policy/policy_rules.ts";
import { PacketClass } from "../../lib/policy/packet_classifier.ts";
import { PolicyTable } from "../../lib/policy/policy_table.ts";
import { FlowTable } from "../../lib/policy/flow_table.ts";
import { PolicyGate } from "../../lib/policy/policy_gate.ts";
import { policyPacket } from "../unit/policy_packets.ts";
import { ensure, Mutator, runFuzz, startFuzz, text, utf8 } from "./fuzz_kit.ts";

Deno.test("fuzz policy files: a file parses into one rule per line that round-trips, or is refused with file:line", () => {
  const run = startFuzz("policy-file");
  const seeds = utf8(
    "allow tcp 80\ndeny udp 1000-2000\n# comment\nallow all\n",
    "deny all 22\nallow tcp all\n\n",
    "allow udp 53\r\ndeny tcp 1-65535\n",
  );
  const mutator = new Mutator(run.rng, {
    maxLength: 600,
    dictionary: utf8("allow", "deny", "tcp", "udp", "all", "65535", "0", "-", "#", "\n", " "),
  });
  const outcomes = runFuzz("policy-file", run, () => text(mutator.next(seeds)), (input) => {
    let rules;
    try {
      rules = parsePolicyText(input, "global.policy");
    } catch (error) {
      ensure(error instanceof PolicyError, `not a PolicyError: ${error}`);
      ensure(/global\.policy(:\d+)?: /.test((error as Error).message), "no file:line");
      return "refused";
    }
    const lines = input.split("\n").map((line) => line.replace(/\r$/, "").trim()).filter((line) =>
      line !== "" && !line.startsWith("#")
    );
    ensure(rules.length === lines.length, "a rule line was lost");
    rules.forEach((rule) => {
      ensure(rule.low >= 0 && rule.high <= 65535 && rule.low <= rule.high, "port range");
      // A re-printed rule parses to the same rule.
      const again = parsePolicyText(formatRule(rule), "x")[0];
      ensure(
        again.action === rule.action && again.protocol === rule.protocol &&
          again.low === rule.low && again.high === rule.high && again.anyPort === rule.anyPort,
        "rule does not round-trip",
      );
    });
    return "parsed";
  });
  ensure((outcomes.get("parsed") ?? 0) > 1000, "too few files parsed");
  ensure((outcomes.get("refused") ?? 0) > 1000, "too few files refused");
});

Deno.test("fuzz policy packets: the gate never throws, reads nothing past the packet, and agrees with the reference", () => {
  const run = startFuzz("policy-packet");
  const global = {
    name: "global.policy",
    rules: parsePolicyText(
      "allow tcp 80\nallow udp 53\ndeny tcp 22\nallow all 9000-9100",
      "global.policy",
    ),
  };
  const table = PolicyTable.create(2);
  table.publish({ defaultAction: "deny", global, rows: new Map(), enforcing: true });
  const gate = new PolicyGate(table, FlowTable.create());
  const set = emptyPolicySet();
  set.defaultAction = "deny";
  set.global = global;
  const seeds = [
    policyPacket({ from: "10.99.0.2", to: "10.99.0.1", protocol: 6, destinationPort: 80 }),
    policyPacket({ from: "10.99.0.2", to: "10.99.0.1", protocol: 17, destinationPort: 53 }),
    policyPacket({
      from: "fd99:6d67::2",
      to: "fd99:6d67::1",
      protocol: 6,
      destinationPort: 22,
      extensions: [0, 43],
    }),
    policyPacket({
      from: "fd99:6d67::2",
      to: "fd99:6d67::1",
      protocol: 17,
      destinationPort: 9050,
      fragment: { offset: 0, more: true, id: 9 },
    }),
    policyPacket({
      from: "10.99.0.2",
      to: "10.99.0.1",
      protocol: 17,
      fragment: { offset: 20, more: false, id: 9 },
    }),
  ];
  const mutator = new Mutator(run.rng, { maxLength: 200 });
  const packet = new PacketClass();
  const outcomes = runFuzz("policy-packet", run, () => mutator.next(seeds), (input) => {
    // Guard bytes after the packet: a read past its end would see 0x5a and could change the
    // answer; the classification must be the same with other guard bytes.
    const memory = new Uint8Array(input.length + 64).fill(0x5a);
    memory.set(input);
    const admitted = gate.admitInbound(0, memory, 0, input.length, 1_000_000);
    const other = new Uint8Array(input.length + 64).fill(0xa5);
    other.set(input);
    const known = packet.classify(memory, 0, input.length);
    const fields = [packet.protocol, packet.destinationPort, packet.fragment, packet.fragmentId];
    packet.classify(other, 0, input.length);
    ensure(
      JSON.stringify(fields) ===
        JSON.stringify([
          packet.protocol,
          packet.destinationPort,
          packet.fragment,
          packet.fragmentId,
        ]),
      "the classification depends on bytes past the packet",
    );
    if (!known) return admitted ? "not-ip-admitted" : "not-ip";
    if (packet.protocol === 1 || packet.protocol === 58) {
      ensure(admitted, "ICMP dropped");
      return "icmp";
    }
    if (packet.fragment === 2) return admitted ? "fragment-follows" : "fragment-dropped";
    const expected = evaluatePolicy(
      set,
      undefined,
      undefined,
      packet.protocol,
      packet.destinationPort,
    );
    ensure(
      admitted === (expected.action === "allow"),
      `gate ${admitted}, reference ${expected.action}`,
    );
    return expected.action;
  });
  ensure((outcomes.get("allow") ?? 0) > 1000, "too few packets admitted by a rule");
  ensure((outcomes.get("deny") ?? 0) > 1000, "too few packets denied");
});
