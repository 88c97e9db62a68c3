import { assertEquals } from "../assert.ts";
import { formatBytes, formatHandshakeAge, formatStatus } from "../../lib/control/status_format.ts";
import { sampleStatus } from "./fixtures.ts";
import { checkDaemonStatus } from "../../lib/control/control_protocol.ts";

Deno.test("status format: byte counts in binary units", () => {
  assertEquals(formatBytes(0), "0 B");
  assertEquals(formatBytes(1023), "1023 B");
  assertEquals(formatBytes(1024), "1.0 KiB");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(1024 * 1024 - 1), "1.0 MiB");
  assertEquals(formatBytes(5 * 1024 * 1024 + 300 * 1024), "5.3 MiB");
  assertEquals(formatBytes(3 * 1024 ** 3), "3.0 GiB");
  assertEquals(formatBytes(2 * 1024 ** 4), "2.0 TiB");
});

Deno.test("status format: handshake ages", () => {
  const now = Date.parse("2026-11-22T03:04:17.500Z");
  assertEquals(formatHandshakeAge(null, now), "never");
  assertEquals(formatHandshakeAge("2026-11-22T03:04:05.000Z", now), "12s ago");
  assertEquals(formatHandshakeAge("2026-11-22T03:01:05.000Z", now), "3m ago");
  assertEquals(formatHandshakeAge("2026-11-21T22:00:00.000Z", now), "5h ago");
  assertEquals(formatHandshakeAge("2026-11-19T03:00:00.000Z", now), "3d ago");
  // Clock skew: a handshake "in the future" is just now.
  assertEquals(formatHandshakeAge("2026-11-22T03:05:00.000Z", now), "0s ago");
  assertEquals(formatHandshakeAge("not a time", now), "unknown");
  assertEquals(formatHandshakeAge("2026-11-22T03:04:05.000Z", new Date(now)), "12s ago");
});

Deno.test("status format: header block, then one aligned row per peer sorted by name", () => {
  const now = new Date("2026-11-22T03:04:17.000Z");
  assertEquals(
    formatStatus(sampleStatus(), now),
    `interface:       mg0
listening port:  51821
public key:      AAAAC3NzaC1lZDI1NTE5AAAAIOr1Z2Nq8xw5mV3bY7n0cVt4=
wireguard key:   kXr3m8wq0c2n9Lk1M0bXb3u5yq2q3H6pS5w2tY7zQm4=
mesh ipv4:       10.99.1.2
mesh ipv6:       fd99:6d67::1:2
admission:       authorized keys only
members:         2 alive, 1 suspect, 0 dead
nat:             endpoint-independent, mapped 203.0.113.7:40001
daemon:          meshguard 0.1.0, pid 4242

NAME        MESH IP         ENDPOINT             STATE    HANDSHAKE  RX       TX       PATH
db-primary  10.99.7.8       -                    dead     2h ago     3.0 GiB  1023 B   direct
node2       10.99.3.4       192.0.2.2:51821      alive    12s ago    1.5 KiB  5.3 MiB  direct
node3       fd99:6d67::3:4  [2001:db8::3]:51821  suspect  never      0 B      148 B    relay via node2

mesh IPv4 conflicts (1):
  mesh IPv4 10.99.3.4 stays with node2 (first trusted or seen here); node3 reachable over IPv6 only; to give it to another key run 'meshguard trust <key> --ipv4-owner'
`,
  );
});

Deno.test("status format: no peers, open mesh", () => {
  const status = {
    ...sampleStatus(),
    open: true,
    max_members: 1024,
    refused_members: 3,
    peers: [],
    ipv4_conflicts: [],
    members: { alive: 0, suspect: 0, dead: 0 },
  };
  const text = formatStatus(status, 0);
  assertEquals(text.endsWith("\nno peers yet\n"), true);
  assertEquals(
    text.includes("admission:       open (any key, at most 1024 members, 3 refused)\n"),
    true,
  );
  assertEquals(text.includes("members:         0 alive, 0 suspect, 0 dead\n"), true);
  // A closed mesh that also trusts orgs says so (certificates and vouches admit too).
  const withOrgs = checkDaemonStatus(
    JSON.parse(JSON.stringify({ ...sampleStatus(), trusted_orgs: 2 })),
  );
  assertEquals(
    formatStatus(withOrgs, 0).includes(
      "admission:       authorized keys and 2 trusted orgs (certificates, vouches)\n",
    ),
    true,
  );
});

Deno.test("status format: the service policy line (issue 14), and its validation", () => {
  const policy = {
    default: "deny" as const,
    files: 2,
    rules: 3,
    error: null,
    drops: [
      { source: "default", rule: "deny", drops: 4 },
      { source: "global.policy:2", rule: "deny tcp 22", drops: 1 },
    ],
  };
  const status = checkDaemonStatus(JSON.parse(JSON.stringify({ ...sampleStatus(), policy })));
  const text = formatStatus(status, 0);
  assertEquals(text.includes("services:        default deny, 3 rules, 5 packets dropped\n"), true);
  const refused = formatStatus(
    { ...status, policy: { ...policy, error: "global.policy:3: x" } },
    0,
  );
  assertEquals(refused.includes("; last edit refused: global.policy:3: x\n"), true);
  const none = formatStatus({ ...status, policy: { ...policy, files: 0, drops: [] } }, 0);
  assertEquals(none.includes("services:        no policy files (every port open)\n"), true);
  // Without a policy (an older daemon) there is no line.
  assertEquals(formatStatus(sampleStatus(), 0).includes("services:"), false);
  let threw = false;
  try {
    checkDaemonStatus({ ...sampleStatus(), policy: { ...policy, drops: [{ source: 1 }] } });
  } catch {
    threw = true;
  }
  assertEquals(threw, true, "a malformed policy block is refused");
});

Deno.test("status format: mesh names — this node's, a DNS NAME column, name conflicts", () => {
  const base = sampleStatus();
  const status = {
    ...base,
    dns_name: "gw.mesh",
    name_conflicts: ["name db.mesh stays with key 0202020202020202…, which claimed it first"],
    ipv4_conflicts: [],
    peers: base.peers.map((peer) => ({
      ...peer,
      dns_name: peer.name === "db-primary" ? null : `${peer.name}.mesh`,
    })),
  };
  const text = formatStatus(status, 0);
  assertEquals(text.includes("mesh name:       gw.mesh\n"), true, text);
  const rows = text.split("\n").filter((line) => /^(NAME|db-primary|node2) /.test(line));
  assertEquals(rows.map((row) => row.split(/\s{2,}/).slice(0, 2)), [
    ["NAME", "DNS NAME"],
    ["db-primary", "-"],
    ["node2", "node2.mesh"],
  ]);
  assertEquals(
    text.endsWith(
      "mesh name conflicts (1):\n  name db.mesh stays with key 0202020202020202…, which claimed it first\n",
    ),
    true,
    text,
  );
});

Deno.test("status format: a relay node lists what it forwarded, its drops by reason and its pairs", () => {
  const status = {
    ...sampleStatus(),
    peers: [],
    ipv4_conflicts: [],
    relay_serving: {
      forwarded_packets: 1200,
      forwarded_bytes: 3 * 1024 * 1024,
      dropped: { malformed: 0, untrusted: 4, rate: 0, "no-path": 1, "pair-cap": 0 },
      pairs: [
        { from: "syma", to: "symb", packets: 800, bytes: 2 * 1024 * 1024 },
        { from: "symb", to: "syma", packets: 400, bytes: 1024 * 1024 },
      ],
    },
  };
  const text = formatStatus(status, new Date("2026-11-22T03:04:17.000Z"));
  assertEquals(
    text.slice(text.indexOf("no peers yet")),
    `no peers yet

relaying for others: 1200 datagrams (3.0 MiB) forwarded, dropped: untrusted 4, no-path 1
  FROM  TO    DATAGRAMS  BYTES
  syma  symb  800        2.0 MiB
  symb  syma  400        1.0 MiB
`,
  );
  const idle = { ...status, relay_serving: { ...status.relay_serving, pairs: [] } };
  assertEquals(
    formatStatus(idle, 0).endsWith(
      "forwarded, dropped: untrusted 4, no-path 1\n  no active pairs\n",
    ),
    true,
  );
});

Deno.test("status format: the admission controller's state (url, last poll, epoch, held-off peers, denial)", () => {
  const controller = {
    url: "https://controller.example:8000",
    node_id: "node-a",
    reachable: true,
    last_poll: new Date(60_000).toISOString(),
    last_error: null,
    epoch: 28_512,
    denied: null,
    admitted: 2,
    gated: ["node3"],
    fail_open: false,
  };
  const status = checkDaemonStatus(JSON.parse(JSON.stringify({ ...sampleStatus(), controller })));
  const text = formatStatus(status, 65_000);
  assertEquals(
    text.includes(
      "controller:      https://controller.example:8000 as node-a, last poll 5s ago\n" +
        "                 epoch 28512, 2 peer(s) admitted\n" +
        "                 held off the device: node3\n",
    ),
    true,
    text,
  );
  const denied = formatStatus({
    ...status,
    controller: {
      ...controller,
      reachable: false,
      last_error: "connection refused",
      epoch: null,
      denied: "not allowed: score 0.4 below 0.7",
      admitted: 0,
      gated: [],
      fail_open: true,
    },
  }, 65_000);
  assertEquals(
    denied.includes(
      "controller:      https://controller.example:8000 as node-a, last poll 5s ago, unreachable (connection refused)\n" +
        "                 no epoch, 0 peer(s) admitted, fail-open\n" +
        "                 this node denied: not allowed: score 0.4 below 0.7\n",
    ),
    true,
    denied,
  );
  // Without --controller (or from an older daemon) there is no line.
  assertEquals(formatStatus(sampleStatus(), 0).includes("controller:"), false);
  for (const bad of [{ gated: "node3" }, { epoch: "7" }, { reachable: 1 }]) {
    let threw = false;
    try {
      checkDaemonStatus({ ...sampleStatus(), controller: { ...controller, ...bad } });
    } catch {
      threw = true;
    }
    assertEquals(threw, true, `a malformed controller block is refused: ${JSON.stringify(bad)}`);
  }
});
