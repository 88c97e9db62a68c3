import { assertEquals, assertThrows, assertTrue } from "../assert.ts";
import { parseDefaultText, parsePolicyText, PolicyError } from "../../lib/policy/policy_parser.ts";
import { evaluatePolicy } from "../../lib/policy/policy_evaluator.ts";
import {
  emptyPolicySet,
  formatRule,
  policyCanDrop,
  type PolicySet,
} from "../../lib/policy/policy_rules.ts";

const TCP = 6;
const UDP = 17;
const GRE = 47;

Deno.test("policy parser: every rule form, comments and blank lines", () => {
  const rules = parsePolicyText(
    [
      "# database host",
      "",
      "allow tcp 5432",
      "  deny udp 1000-2000  ",
      "allow all 53",
      "deny tcp all",
      "allow udp all",
      "deny all",
      "allow all",
      "allow tcp 1-65535\r",
    ].join("\n"),
    "global.policy",
  );
  assertEquals(rules.map(formatRule), [
    "allow tcp 5432",
    "deny udp 1000-2000",
    "allow all 53",
    "deny tcp all",
    "allow udp all",
    "deny all",
    "allow all",
    "allow tcp 1-65535",
  ]);
  assertEquals(rules.map((rule) => rule.source), [
    "global.policy:3",
    "global.policy:4",
    "global.policy:5",
    "global.policy:6",
    "global.policy:7",
    "global.policy:8",
    "global.policy:9",
    "global.policy:10",
  ]);
  assertEquals(rules[1].low, 1000);
  assertEquals(rules[1].high, 2000);
  assertTrue(rules[5].anyPort && rules[5].protocol === "all");
});

Deno.test("policy parser: every bad line is named by file and line, and the file is refused", () => {
  const bad = [
    ["permit tcp 22", "expected 'allow' or 'deny'"],
    ["allow icmp 1", "expected 'tcp', 'udp' or 'all'"],
    ["allow tcp", "'allow tcp' needs a port"],
    ["allow tcp 0", "port '0' is outside 1-65535"],
    ["allow tcp 65536", "port '65536' is outside 1-65535"],
    ["allow tcp 200-100", "range '200-100' runs backwards"],
    ["allow tcp 22 extra", "unexpected 'extra'"],
    ["allow tcp http", "bad port 'http'"],
    ["allow tcp -5", "bad port"],
    ["allow", "expected 'tcp', 'udp' or 'all'"],
  ];
  for (const [line, message] of bad) {
    assertThrows(
      () => parsePolicyText(`allow tcp 80\n# fine\n${line}\n`, "peer/db.policy"),
      PolicyError,
      new RegExp(`^peer/db\\.policy:3: ${message.replace(/[()]/g, "\\$&")}`),
    );
  }
  // Two bad lines: both are reported.
  assertThrows(
    () => parsePolicyText("allow tcp x\nallow tcp 1\ndeny tcp y\n", "global.policy"),
    PolicyError,
    /global\.policy:1: .*; global\.policy:3: /,
  );
});

Deno.test("policy parser: the original's limits (64 rules, 4 KiB) are enforced", () => {
  const sixtyFour = Array.from({ length: 64 }, (_, i) => `allow tcp ${i + 1}`).join("\n");
  assertEquals(parsePolicyText(sixtyFour, "global.policy").length, 64);
  assertThrows(
    () => parsePolicyText(`${sixtyFour}\ndeny all\n`, "global.policy"),
    PolicyError,
    /65 rules, more than the 64/,
  );
  const big = `# ${"x".repeat(4096)}\nallow all\n`;
  assertThrows(() => parsePolicyText(big, "global.policy"), PolicyError, /more than the 4096/);
});

Deno.test("policy parser: services/default holds allow or deny", () => {
  assertEquals(parseDefaultText("deny\n"), "deny");
  assertEquals(parseDefaultText("# closed\nallow\n"), "allow");
  assertThrows(() => parseDefaultText("maybe\n"), PolicyError, /default: must hold/);
  assertThrows(() => parseDefaultText("allow\ndeny\n"), PolicyError, /default: must hold/);
  assertThrows(() => parseDefaultText(""), PolicyError, /default: must hold/);
});

function set(
  defaultAction: "allow" | "deny",
  files: { global?: string; peers?: Record<string, string>; orgs?: Record<string, string> },
): PolicySet {
  const result = emptyPolicySet();
  result.defaultAction = defaultAction;
  if (files.global !== undefined) {
    result.global = {
      name: "global.policy",
      rules: parsePolicyText(files.global, "global.policy"),
    };
  }
  for (const [key, text] of Object.entries(files.peers ?? {})) {
    result.peers.set(key, { name: `peer/${key}`, rules: parsePolicyText(text, `peer/${key}`) });
  }
  for (const [key, text] of Object.entries(files.orgs ?? {})) {
    result.orgs.set(key, { name: `org/${key}`, rules: parsePolicyText(text, `org/${key}`) });
  }
  return result;
}

Deno.test("policy evaluation: peer → org → global → default, first match wins, fall through", () => {
  const policy = set("deny", {
    global: "allow tcp 80\nallow udp 53\ndeny tcp 5432",
    peers: { app: "allow tcp 5432\ndeny tcp 80\nallow tcp 80" },
    orgs: { acme: "allow tcp 22\ndeny tcp 5432\nallow all 9000-9100" },
  });
  const verdict = (peer: string | undefined, org: string | undefined, p: number, port: number) => {
    const v = evaluatePolicy(policy, peer, org, p, port);
    return `${v.action} ${v.level} ${v.rule?.source ?? "-"}`;
  };
  // Peer level decides first, first match in file order.
  assertEquals(verdict("app", "acme", TCP, 5432), "allow peer peer/app:1");
  assertEquals(verdict("app", undefined, TCP, 80), "deny peer peer/app:2");
  // No match at the peer level: the org's.
  assertEquals(verdict("app", "acme", TCP, 22), "allow org org/acme:1");
  assertEquals(verdict("other", "acme", TCP, 5432), "deny org org/acme:2");
  assertEquals(verdict("other", "acme", UDP, 9050), "allow org org/acme:3");
  // No org known (certificates do not exist yet): straight to global.
  assertEquals(verdict("other", undefined, TCP, 22), "deny default -");
  assertEquals(verdict("other", undefined, TCP, 80), "allow global global.policy:1");
  assertEquals(verdict("other", undefined, TCP, 5432), "deny global global.policy:3");
  // Protocol matters: udp 80 is not tcp 80.
  assertEquals(verdict("other", undefined, UDP, 80), "deny default -");
  assertEquals(verdict("other", undefined, UDP, 53), "allow global global.policy:2");
  // A protocol without ports, or a later fragment (port -1), matches only `all`-port rules.
  assertEquals(verdict("other", "acme", GRE, -1), "deny default -");
  assertEquals(verdict("other", undefined, TCP, -1), "deny default -");
  const open = set("deny", { global: "allow tcp all\nallow all" });
  assertEquals(evaluatePolicy(open, "x", undefined, TCP, -1).rule?.source, "global.policy:1");
  assertEquals(evaluatePolicy(open, "x", undefined, GRE, -1).rule?.source, "global.policy:2");
});

Deno.test("policy evaluation: no files means allow, and only deny can drop", () => {
  const none = emptyPolicySet();
  assertEquals(evaluatePolicy(none, "x", undefined, TCP, 22).action, "allow");
  assertEquals(policyCanDrop(none), false);
  assertEquals(policyCanDrop(set("allow", { global: "allow tcp 22" })), false);
  assertEquals(policyCanDrop(set("allow", { peers: { a: "deny tcp 22" } })), true);
  assertEquals(policyCanDrop(set("deny", {})), true);
});
