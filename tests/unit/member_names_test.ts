/** The mesh name table: name sources, the collision rule, the log lines, the DNS table built from it. */

import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { memberName, MemberNames, ownNameFromHostname } from "../../lib/daemon/member_names.ts";
import { MeshPeers } from "../../lib/daemon/mesh_peers.ts";
import { formatNameHolders, parseNameHolders } from "../../lib/daemon/name_holders_store.ts";
import { MeshDnsTable } from "../../lib/daemon/mesh_dns_table.ts";
import { meshIpv4, meshIpv4Bytes, meshIpv6Bytes } from "../../lib/identity/mesh_address.ts";

const key = (n: number) => new Uint8Array(32).fill(n);
const SELF = key(1);

Deno.test("memberName: certificate name under the org domain, else the trust name, else peer-<hex8>", () => {
  const k = key(7);
  assertEquals(memberName(k, { trustName: "db" }), "db.mesh");
  assertEquals(
    memberName(k, { trustName: "db", certificate: { name: "web", orgDomain: "a1b2c3" } }),
    "web.a1b2c3.mesh",
  );
  assertEquals(memberName(k, { trustName: null }), `peer-${encodeHex(k).slice(0, 8)}.mesh`);
  // Nothing that is not a DNS label reaches the resolver.
  assertEquals(memberName(k, { trustName: "Bad.Name" }), `peer-07070707.mesh`);
  assertEquals(
    memberName(k, { trustName: "db", certificate: { name: "x/y", orgDomain: "a1b2c3" } }),
    "db.mesh",
  );
  assertEquals(ownNameFromHostname("Build-07.example.org"), "build-07.mesh");
  assertEquals(ownNameFromHostname("under_score"), null);
});

Deno.test("names: the earliest claim holds; a newcomer never displaces it, and gets it once it is free", () => {
  const names = new MemberNames(SELF, "self.mesh");
  const [old, newcomer] = [key(2), key(3)];
  names.claim(old, "web.a1b2c3.mesh", 1);
  names.settle();
  assertEquals(names.drainNotices(), []);
  names.claim(newcomer, "web.a1b2c3.mesh", 2);
  names.settle();
  assertEquals(names.nameOf(old), "web.a1b2c3.mesh");
  assertEquals(names.nameOf(newcomer), null);
  const [notice] = names.drainNotices();
  assertIncludes(notice, "stays with key 0202020202020202…, which claimed it first");
  assertIncludes(notice, "0303030303030303");
  assertEquals(names.conflicts().length, 1);
  // The same claim again keeps its arrival: re-announcing does not make the holder a newcomer.
  names.claim(old, "web.a1b2c3.mesh", 9);
  names.settle();
  assertEquals(names.nameOf(old), "web.a1b2c3.mesh");
  assertEquals(names.drainNotices(), [], "an unchanged outcome is not logged again");
  // Away, it keeps the name; revoked, the newcomer gets it.
  names.release(old);
  names.settle();
  assertEquals(names.nameOf(newcomer), null);
  names.claim(old, "web.a1b2c3.mesh", 10);
  names.release(old, true);
  names.settle();
  assertEquals(names.nameOf(newcomer), "web.a1b2c3.mesh");
  assertEquals(names.conflicts(), []);
});

Deno.test("names: claims that tie go to nobody; the node's own name is its own", () => {
  const names = new MemberNames(SELF, "self.mesh");
  names.claim(key(2), "db.mesh", 5);
  names.claim(key(3), "db.mesh", 5);
  names.settle();
  assertEquals(names.nameOf(key(2)), null);
  assertEquals(names.nameOf(key(3)), null);
  assertEquals(names.decide("db.mesh"), { holder: null, reason: "tied" });
  names.claim(key(4), "self.mesh", 1);
  names.settle();
  assertEquals(names.nameOf(key(4)), null);
  assertEquals(names.nameOf(SELF), "self.mesh");
  const held = [...names.holders()].map((h) => [h.name, encodeHex(h.publicKey).slice(0, 2)]);
  assertEquals(held, [["self.mesh", "01"]]);
  assertEquals(names.drainNotices().length, 2);
});

Deno.test("names: the node's own certificate name is its own too; a renewal moves it", () => {
  const names = new MemberNames(SELF, "self.mesh");
  // A member holds web.a1b2c3.mesh (recorded) before our node.cert names us so.
  names.claim(key(2), "web.a1b2c3.mesh", 1);
  names.settle();
  assertEquals(names.takeChangedRecords()?.get("web.a1b2c3.mesh"), encodeHex(key(2)));
  names.setSelfCertificateName("web.a1b2c3.mesh");
  assertEquals(names.decide("web.a1b2c3.mesh"), { holder: encodeHex(SELF), reason: "own-name" });
  assertEquals(names.nameOf(key(2)), null);
  assertEquals(names.takeChangedRecords()?.has("web.a1b2c3.mesh"), false);
  const held = () => [...names.holders()].map((h) => [h.name, encodeHex(h.publicKey).slice(0, 2)]);
  assertEquals(held(), [["self.mesh", "01"], ["web.a1b2c3.mesh", "01"]]);
  // Renewed under another name: the old one goes back to the member that claims it.
  names.setSelfCertificateName("api.a1b2c3.mesh");
  assertEquals(held(), [
    ["self.mesh", "01"],
    ["api.a1b2c3.mesh", "01"],
    ["web.a1b2c3.mesh", "02"],
  ]);
  names.setSelfCertificateName(null);
  assertEquals(held(), [["self.mesh", "01"], ["web.a1b2c3.mesh", "02"]]);
  assertEquals(names.nameOf(SELF), "self.mesh");
});

Deno.test("names: the recorded holder keeps its name after a restart, whoever claims first", () => {
  const [old, newcomer] = [key(2), key(3)];
  const before = new MemberNames(SELF, null);
  before.claim(old, "web.mesh", 1);
  before.claim(newcomer, "web.mesh", 2);
  before.settle();
  const records = before.takeChangedRecords();
  assertEquals(records, new Map([["web.mesh", encodeHex(old)]]));
  assertEquals(before.takeChangedRecords(), null, "unchanged records taken twice");
  // After a restart the newcomer's claim happens to arrive first.
  const after = new MemberNames(SELF, null);
  after.loadRecords(records!);
  after.claim(newcomer, "web.mesh", 1);
  after.settle();
  assertEquals(after.nameOf(newcomer), null);
  after.claim(old, "web.mesh", 2);
  after.settle();
  assertEquals(after.nameOf(old), "web.mesh");
  // Revoked (forget) frees the name and the record; a rename gives the old name up too.
  after.release(old, true);
  after.settle();
  assertEquals(after.nameOf(newcomer), "web.mesh");
  assertEquals(after.takeChangedRecords(), new Map([["web.mesh", encodeHex(newcomer)]]));
  after.claim(newcomer, "www.mesh", 3);
  after.settle();
  assertEquals(after.takeChangedRecords(), new Map([["www.mesh", encodeHex(newcomer)]]));
  // Away (an --open member that left): it keeps its name; nobody else gets it meanwhile.
  const open = new MemberNames(SELF, null);
  open.loadRecords(records!);
  open.claim(newcomer, "web.mesh", 1);
  open.settle();
  assertEquals(open.nameOf(newcomer), null);
  assertEquals(open.decide("web.mesh"), { holder: null, reason: "holder-absent" });
  assertIncludes(open.drainNotices()[0], "recorded holder, now away");
  // A holder revoked while the daemon was down: the trust load forgets it.
  open.retain(new Set([encodeHex(newcomer)]));
  open.settle();
  assertEquals(open.nameOf(newcomer), "web.mesh");
});

Deno.test("name_holders: round trip; bad lines are skipped with a reason", () => {
  const entries = new Map([["web.a1b2c3.mesh", encodeHex(key(2))], ["db.mesh", encodeHex(key(3))]]);
  const text = formatNameHolders(entries);
  assertEquals(parseNameHolders(text), { entries, problems: [] });
  const bad = parseNameHolders(
    `${text}web.example.com ${"A".repeat(43)}=\nUPPER.mesh x\ndb.mesh ${
      "A".repeat(43)
    }=\nshort.mesh AAAA\n`,
  );
  assertEquals(bad.entries, entries);
  assertEquals(bad.problems.length, 4, bad.problems.join("\n"));
  assertIncludes(bad.problems.join("\n"), "db.mesh is listed twice");
});

Deno.test("names follow trust: renaming the file moves the name; --open members get peer-<hex8>", () => {
  const peers = new MeshPeers(SELF, true, { selfName: "self.mesh" });
  const [a, b] = [key(2), key(3)];
  peers.setTrusted([{ name: "alpha", publicKey: a }]);
  assertEquals(peers.names.nameOf(a), "alpha.mesh");
  peers.onMember(
    {
      publicKey: b,
      state: "alive",
      endpoints: [],
      verified: null,
      incarnation: 1,
    } as unknown as Parameters<MeshPeers["onMember"]>[0],
  );
  assertEquals(peers.names.nameOf(b), `peer-${encodeHex(b).slice(0, 8)}.mesh`);
  const before = peers.namesVersion;
  peers.setTrusted([{ name: "beta", publicKey: a }]);
  assertEquals(peers.names.nameOf(a), "beta.mesh");
  assertTrue(peers.namesVersion !== before, "the resolver's cache key did not change");
  // A trust file named like an open member's name arrives later and does not take it.
  const taken = `peer-${encodeHex(b).slice(0, 8)}`;
  peers.setTrusted([{ name: "beta", publicKey: a }, { name: taken, publicKey: key(4) }]);
  assertEquals(peers.names.nameOf(b), `${taken}.mesh`);
  assertEquals(peers.names.nameOf(key(4)), null);
  const logs = peers.drainNotices().logs.map((line) => line.message).join("\n");
  assertIncludes(logs, `name ${taken}.mesh stays with`);
  // Revoking trust releases the name.
  peers.setTrusted([]);
  assertEquals(peers.names.nameOf(a), null);
});

Deno.test("the DNS table: A only for the key holding its mesh IPv4 here, AAAA always, PTR both ways", () => {
  const peers = new MeshPeers(SELF, false, { selfName: "self.mesh" });
  const a = key(2);
  peers.setTrusted([{ name: "alpha", publicKey: a }]);
  const dns = new MeshDnsTable(peers, SELF);
  const table = dns.table(0);
  assertEquals(table.size, 2);
  assertEquals(table.host("alpha.mesh")?.ipv4, meshIpv4Bytes(a));
  assertEquals(table.host("alpha.mesh")?.ipv6, meshIpv6Bytes(a));
  assertEquals(table.host("self.mesh")?.ipv4, meshIpv4Bytes(SELF));
  const [, , c, d] = meshIpv4Bytes(a);
  assertEquals(table.pointer(`${d}.${c}.99.10.in-addr.arpa`), "alpha.mesh");
  assertTrue(dns.table(100) === table, "an unchanged peer table rebuilt the DNS table");
  // Find a key that derives alpha's IPv4 (a collision): it comes later, so alpha keeps the A.
  let twin: Uint8Array | null = null;
  for (let i = 0; i < 200_000 && twin === null; i++) {
    const candidate = new Uint8Array(32);
    new DataView(candidate.buffer).setUint32(0, i);
    candidate[31] = 0xee;
    if (meshIpv4(candidate) === meshIpv4(a)) twin = candidate;
  }
  assertTrue(twin !== null, "no IPv4 twin found");
  peers.setTrusted([{ name: "alpha", publicKey: a }, { name: "twin", publicKey: twin! }]);
  // A change within a second of the last build is served from the old table, then rebuilt.
  assertTrue(dns.table(500) === table, "rebuilt twice within REBUILD_GAP_MS");
  const after = dns.table(1_000);
  assertEquals(after.host("alpha.mesh")?.ipv4, meshIpv4Bytes(a));
  assertEquals(after.host("twin.mesh")?.ipv4, null);
  assertEquals(after.host("twin.mesh")?.ipv6, meshIpv6Bytes(twin!));
});
