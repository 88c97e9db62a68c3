/**
 * In-process mesh with org admission: nodes that trust only an org key (no authorized keys)
 * form a full mesh from their certificates (v1, v2, delegated); an org revocation handed to one
 * node tears the revoked node's tunnels down on every node; it stays out after a restart; a
 * certificate that expires while the mesh runs stops admitting; a node trusting no org admits
 * no one; an org vouch admits a key without certificate; an org's service policy holds the
 * members its certificates admit, and only while they do; certificate names in the resolver
 * (claimed, renamed, freed by revocation; of two certificates with one name the first holds).
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { MeshSim } from "./mesh_sim.ts";
import { WALL_CLOCK_OFFSET } from "./engine_device.ts";
import { signCertificate, signDelegatedCertificate } from "../../lib/org/certificate.ts";
import { signGrant } from "../../lib/org/delegation.ts";
import { publicKeyOfSeed } from "../../lib/org/ed25519_sign.ts";
import { signOrgControl } from "../../lib/org/org_messages.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { mulberry32, randomBytes } from "../swim/sim/prng.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { meshIpv4, meshIpv6 } from "../../lib/identity/mesh_address.ts";
import { orgDomain } from "../../lib/identity/org_domain.ts";
import { Buffer } from "node:buffer";
// @ts-types="../../lib/dns/dns_packet.d.ts"
import * as dnsPacket from "dns-packet";
import { MeshDnsTable } from "../../lib/daemon/mesh_dns_table.ts";
import { DnsResponder } from "../../lib/dns/dns_responder.ts";
import { parsePolicyText } from "../../lib/policy/policy_parser.ts";
import { emptyPolicySet } from "../../lib/policy/policy_rules.ts";
import { policyPacket } from "../unit/policy_packets.ts";

const NAMES = ["seed", "n1", "n2", "n3"];

function wallSeconds(sim: MeshSim): number {
  return Math.floor((sim.now + WALL_CLOCK_OFFSET) / 1000);
}

/** Four hosts that trust only the org; n3's certificate is delegated, n2's v1, others v2. */
async function orgMesh(seed: number, expiresIn: Record<string, number> = {}) {
  const random = mulberry32(seed ^ 0x0e9);
  const orgSeed = randomBytes(random, 32);
  const orgKey = publicKeyOfSeed(orgSeed);
  const issuerSeed = randomBytes(random, 32);
  const sim = new MeshSim({ seed });
  for (const [i, name] of NAMES.entries()) await sim.add(name, `192.0.2.${i + 1}:51821`);
  const now = wallSeconds(sim);
  const grant = signGrant(orgSeed, publicKeyOfSeed(issuerSeed), now + 86_400);
  for (const name of NAMES) {
    const host = sim.host(name);
    host.orgs = [orgKey];
    const nodeKey = host.identity.publicKey;
    const expiresAt = expiresIn[name] === undefined ? 0 : now + expiresIn[name];
    host.certificate = name === "n3"
      ? signDelegatedCertificate(issuerSeed, grant, {
        nodeKey,
        name,
        issuedAt: now,
        wgKey: wireguardPublicKeyOf(nodeKey),
      }).bytes
      : signCertificate(orgSeed, {
        nodeKey,
        name,
        issuedAt: now,
        expiresAt,
        wgKey: name === "n2" ? null : wireguardPublicKeyOf(nodeKey),
      }).bytes;
  }
  return { sim, orgSeed, orgKey };
}

async function startAll(sim: MeshSim, names: string[]): Promise<void> {
  await sim.start(names[0]);
  for (const name of names.slice(1)) await sim.start(name, [names[0]]);
}

function tunnelsTo(sim: MeshSim, subject: string): string[] {
  return NAMES.filter((observer) =>
    observer !== subject && sim.host(observer).node !== null &&
    sim.devicePeer(observer, subject) !== undefined
  );
}

Deno.test("mesh sim org: org-only trust forms a full mesh (v1, v2, delegated); revocation tears down everywhere; restart stays out", async () => {
  const { sim, orgSeed } = await orgMesh(17);
  await startAll(sim, NAMES);
  const formed = sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "org-only full mesh");
  console.log(`  org-only mesh formed in ${(formed / 1000).toFixed(1)} s simulated`);
  // Names follow the certificates.
  const entry = sim.peerStatus("n1", "n3")!;
  assertTrue(/^n3\.[0-9a-f]{6}\.mesh$/.test(entry.name), `n3's name at n1: ${entry.name}`);
  const packet = sim.sendPacket("n1", "n3");
  sim.run(100);
  assertTrue(sim.arrived("n3", packet), "n1 → n3 (delegated) packet did not arrive");

  // The admin's revocation of n2, handed to n1 only.
  const revoke = signOrgControl(
    orgSeed,
    "revoke",
    sim.host("n2").identity.publicKey,
    wallSeconds(sim),
    2,
  );
  const others = NAMES.filter((name) => name !== "n2");
  assertEquals(tunnelsTo(sim, "n2").length, 3);
  assertEquals(sim.host("n1").node!.applyOrgControls([revoke], sim.now, false), 1);
  assertEquals(tunnelsTo(sim, "n2").filter((name) => name === "n1"), [], "n1 kept n2's tunnel");
  const spread = sim.runUntil(
    () => tunnelsTo(sim, "n2").length === 0,
    10_000,
    "revocation spread",
    10,
  );
  console.log(`  revocation reached every node in ${spread} ms simulated`);
  assertTrue(spread <= 3_000, `revocation took ${spread} ms`);
  for (const name of others) {
    assertEquals(sim.peerStatus(name, "n2"), undefined, `${name} still lists n2`);
  }
  // The rest of the mesh is untouched.
  assertTrue(sim.fullMesh(others), "the other three lost each other");

  // n2 restarts with the same (still unexpired) certificate: nobody lets it back in.
  await sim.restart("n2", ["seed"]);
  sim.run(20_000);
  assertEquals(tunnelsTo(sim, "n2"), [], "a restarted revoked node got a tunnel back");
  for (const name of others) assertEquals(sim.peerStatus(name, "n2"), undefined);
  // A node that joins later learns the revocation by gossip, too.
  assertTrue(
    sim.host("seed").node!.org.isRevokedByAny(sim.host("n2").identity.publicKey),
    "the seed did not keep the revocation",
  );
});

Deno.test("mesh sim org: a certificate that expires while running stops admitting then", async () => {
  const { sim } = await orgMesh(23, { n1: 40 });
  await startAll(sim, NAMES);
  sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "org-only full mesh");
  const expiresAt = sim.host("n1").node!.org.certificateOf(sim.host("n1").identity.publicKey);
  assertEquals(expiresAt, undefined, "n1 holds its own certificate as a member's");
  const n1Cert = sim.host("seed").node!.org.certificateOf(sim.host("n1").identity.publicKey)!;
  assertTrue(
    wallSeconds(sim) < n1Cert.expiresAt,
    "n1's certificate expired before the mesh formed",
  );
  const left = sim.runUntil(
    () => tunnelsTo(sim, "n1").length === 0,
    60_000,
    "expiry teardown",
    100,
  );
  // Its certificate said 40 s from the start; formation took some of that.
  assertTrue(wallSeconds(sim) >= n1Cert.expiresAt, "torn down before expiry");
  assertTrue(wallSeconds(sim) <= n1Cert.expiresAt + 3, "torn down late");
  console.log(`  expired certificate dropped ${(left / 1000).toFixed(1)} s after formation`);
  assertTrue(sim.fullMesh(["seed", "n2", "n3"]), "the others lost each other");
});

Deno.test("mesh sim org: trusting no org admits no one; an org vouch admits a key without certificate", async () => {
  const { sim, orgSeed } = await orgMesh(29);
  sim.host("n2").orgs = [];
  // n3 has no certificate but the org vouches for it (every node hears of it from its files).
  sim.host("n3").certificate = null;
  // It joins through a seed it trusts by key (a cookie carries no certificate to a Hello too
  // small to outweigh it: wire_format.md).
  sim.host("n3").trusted = ["seed"];
  const vouch = signOrgControl(orgSeed, "vouch", sim.host("n3").identity.publicKey, 100);
  for (const name of NAMES) sim.host(name).orgControls = [vouch];
  await startAll(sim, NAMES);
  sim.runUntil(() => sim.fullMesh(["seed", "n1", "n3"]), 30_000, "mesh with the vouched node");
  sim.run(10_000);
  assertEquals(sim.status("n2").members, { alive: 0, suspect: 0, dead: 0 }, "n2 admitted someone");
  for (const name of ["seed", "n1", "n3"]) {
    assertEquals(sim.peerStatus(name, "n2"), undefined, `${name} admitted n2 (trusts no org)`);
  }
  // An older revocation cannot undo the vouch; a newer one does.
  const n1 = sim.host("n1").node!;
  const old = signOrgControl(orgSeed, "revoke", sim.host("n3").identity.publicKey, 99);
  assertEquals(n1.applyOrgControls([old], sim.now, false), 0);
  assertTrue(sim.devicePeer("n1", "n3") !== undefined, "an old revocation undid a newer vouch");
  const newer = signOrgControl(orgSeed, "revoke", sim.host("n3").identity.publicKey, 101);
  assertEquals(n1.applyOrgControls([newer], sim.now, false), 1);
  sim.runUntil(() => tunnelsTo(sim, "n3").length === 0, 10_000, "vouch revoked", 10);
});

Deno.test("mesh sim org: names come from certificates (own and members'); node.cert renewed live", async () => {
  const { sim, orgSeed } = await orgMesh(31);
  await startAll(sim, NAMES);
  sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "org-only full mesh");
  const n1 = sim.host("n1").node!;
  const own = n1.certificateNameOf(sim.host("n1").identity.publicKey)!;
  assertEquals(own.name, "n1");
  assertTrue(/^n1\.[0-9a-f]{6}\.mesh$/.test(own.fqdn), own.fqdn);
  const member = n1.certificateNameOf(sim.host("n3").identity.publicKey)!;
  assertEquals([member.name, member.orgDomain], ["n3", own.orgDomain]);
  // n2 gets a renewed certificate under a new name while running: the others follow.
  const n2 = sim.host("n2");
  const renewed = signCertificate(orgSeed, {
    nodeKey: n2.identity.publicKey,
    name: "n2-renewed",
    issuedAt: wallSeconds(sim),
    expiresAt: 0,
  });
  n2.node!.setCertificate(renewed.bytes, sim.now);
  sim.runUntil(
    () =>
      NAMES.filter((name) => name !== "n2").every((name) =>
        sim.host(name).node!.certificateNameOf(n2.identity.publicKey)?.name === "n2-renewed"
      ),
    10_000,
    "the renewed certificate to spread",
    10,
  );
  assertTrue(sim.fullMesh(NAMES), "the renewal broke the mesh");
  assertTrue(/^n2-renewed\./.test(sim.peerStatus("n1", "n2")!.name), "status kept the old name");
});

Deno.test("mesh sim org: an org's service policy holds its certificate members, and only while they do", async () => {
  const { sim, orgSeed, orgKey } = await orgMesh(37);
  // The seed: default deny, the org's members may reach udp 53. n2 is also in the seed's
  // authorized_keys/, and n1 (both stay when the org stops admitting them, without its file); nobody
  // has a peer file, so the org rows must be made from membership alone.
  const policy = emptyPolicySet();
  policy.defaultAction = "deny";
  policy.orgs.set(encodeBase64(orgKey), {
    name: "org/acme.policy",
    rules: parsePolicyText("allow udp 53\n", "org/acme.policy"),
  });
  sim.host("seed").policy = policy;
  sim.host("seed").trusted = ["n1", "n2"];
  await startAll(sim, NAMES);
  sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "org-only full mesh");
  const seedAddress = meshIpv4(sim.host("seed").identity.publicKey);
  let sent = 0;
  const reaches = (from: string, protocol: number, port?: number) => {
    // Each packet unique (its source port): `arrived` looks at everything the TUN ever got.
    const packet = policyPacket({
      sourcePort: 40_000 + sent++,
      from: meshIpv4(sim.host(from).identity.publicKey),
      to: seedAddress,
      protocol,
      destinationPort: port,
    });
    sim.host(from).device!.writeTun(packet);
    sim.run(200);
    return sim.arrived("seed", packet);
  };
  for (const name of ["n1", "n2", "n3"]) {
    assertTrue(reaches(name, 17, 53), `${name} (org member) → seed udp 53 was dropped`);
    assertTrue(!reaches(name, 17, 54), `${name} → seed udp 54 passed a default deny`);
    assertTrue(!reaches(name, 6, 53), `${name} → seed tcp 53 passed a default deny`);
    assertTrue(reaches(name, 1), `${name} → seed ICMP was dropped`);
  }
  // The org revokes n2: it stays (its key is trusted) but no longer holds the org's file.
  const revoke = signOrgControl(orgSeed, "revoke", sim.host("n2").identity.publicKey, 1, 2);
  assertEquals(sim.host("seed").node!.applyOrgControls([revoke], sim.now, false), 1);
  sim.run(1_000);
  assertTrue(sim.devicePeer("seed", "n2") !== undefined, "the seed dropped key-trusted n2");
  assertTrue(!reaches("n2", 17, 53), "a revoked member kept its org's policy");
  assertTrue(reaches("n2", 1), "n2 → seed ICMP was dropped");
  assertTrue(reaches("n1", 17, 53), "the revocation of n2 took n1's org policy away");
  // The seed stops trusting the org (trusted_orgs/ reloaded): n1 stays, without the org's file.
  sim.host("seed").node!.setOrgTrust([], [], sim.now);
  sim.run(1_000);
  assertTrue(sim.devicePeer("seed", "n1") !== undefined, "the seed dropped key-trusted n1");
  assertTrue(!reaches("n1", 17, 53), "n1 kept the policy of an org no longer trusted");
  assertTrue(reaches("n1", 1), "n1 → seed ICMP was dropped");
});

Deno.test("mesh sim org: certificate names in the resolver: claimed, renamed on renewal, freed by revocation, first claim holds", async () => {
  const { sim, orgSeed, orgKey } = await orgMesh(41);
  // n4 is signed under n3's name by mistake: it arrives later, so n3 keeps the name.
  const n4 = await sim.add("n4", "192.0.2.5:51821");
  n4.orgs = [orgKey];
  n4.certificate = signCertificate(orgSeed, {
    nodeKey: n4.identity.publicKey,
    name: "n3",
    issuedAt: wallSeconds(sim),
    expiresAt: 0,
  }).bytes;
  await startAll(sim, NAMES);
  sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "org-only full mesh");
  const n1 = sim.host("n1");
  const table = new MeshDnsTable(n1.node!.peers, n1.identity.publicKey);
  const responder = new DnsResponder();
  const ask = (name: string, type = "A") => {
    const query = dnsPacket.encode({
      type: "query",
      id: 7,
      questions: [{ name, type, class: "IN" }],
    });
    // The table is rebuilt at most once a second: ask after the changes settled.
    sim.run(1_100);
    const now = sim.now;
    const answer = responder.answer(
      query,
      Uint8Array.of(10, 99, 0, 9),
      "udp",
      table.table(now),
      now,
    )!;
    const decoded = dnsPacket.decode(Buffer.from(answer));
    return [decoded.rcode, ...(decoded.answers ?? []).map((record) => String(record.data))];
  };
  const key = (name: string) => sim.host(name).identity.publicKey;
  const domain = orgDomain(orgKey);
  assertEquals(ask(`n2.${domain}.mesh`), ["NOERROR", meshIpv4(key("n2"))]);
  assertEquals(ask(`n3.${domain}.mesh`, "AAAA"), ["NOERROR", meshIpv6(key("n3"))]);
  assertEquals(sim.peerStatus("n1", "n3")?.dns_name, `n3.${domain}.mesh`);
  // A node answers to its own certificate's name too.
  assertEquals(ask(`n1.${domain}.mesh`), ["NOERROR", meshIpv4(key("n1"))]);

  // n4 claims n3's name after n3: the earlier claim holds, n4 has no name here (and it is said).
  await sim.start("n4", ["seed"]);
  sim.runUntil(() => sim.fullMesh([...NAMES, "n4"]), 30_000, "n4 in the mesh");
  assertEquals(ask(`n3.${domain}.mesh`), ["NOERROR", meshIpv4(key("n3"))]);
  assertEquals(sim.peerStatus("n1", "n4")?.dns_name ?? null, null);
  assertTrue(
    (sim.status("n1").name_conflicts ?? []).some((line) => line.includes(`n3.${domain}.mesh`)),
    `no conflict shown: ${JSON.stringify(sim.status("n1").name_conflicts)}`,
  );

  // n2's certificate is renewed under another name: the new name answers, the old one is gone.
  const renewed = signCertificate(orgSeed, {
    nodeKey: key("n2"),
    name: "n2-renewed",
    issuedAt: wallSeconds(sim),
    expiresAt: 0,
  });
  sim.host("n2").node!.setCertificate(renewed.bytes, sim.now);
  sim.runUntil(
    () => n1.node!.certificateNameOf(key("n2"))?.name === "n2-renewed",
    10_000,
    "the renewal to reach n1",
    10,
  );
  assertEquals(ask(`n2-renewed.${domain}.mesh`), ["NOERROR", meshIpv4(key("n2"))]);
  assertEquals(ask(`n2.${domain}.mesh`), ["NXDOMAIN"]);

  // A key trust on top: n1 trusts n2 by key (as "n2"), then stops; n2 goes back to its
  // certificate's name, in the resolver and in status.
  sim.trust("n1", ["n2"]);
  assertEquals(ask("n2.mesh"), ["NOERROR", meshIpv4(key("n2"))]);
  sim.trust("n1", []);
  assertEquals(ask("n2.mesh"), ["NXDOMAIN"]);
  assertEquals(ask(`n2-renewed.${domain}.mesh`), ["NOERROR", meshIpv4(key("n2"))]);
  assertEquals(sim.peerStatus("n1", "n2")?.name, `n2-renewed.${domain}.mesh`);

  // The org revokes n3: its name is freed at once, and n4, the other claimant, gets it.
  const revoke = signOrgControl(orgSeed, "revoke", key("n3"), wallSeconds(sim), 2);
  assertEquals(n1.node!.applyOrgControls([revoke], sim.now, false), 1);
  assertEquals(ask(`n3.${domain}.mesh`), ["NOERROR", meshIpv4(key("n4"))]);
  assertEquals(sim.peerStatus("n1", "n4")?.dns_name, `n3.${domain}.mesh`);

  // n4 goes away: its name waits for it, a newcomer (n5, also signed "n3") does not get it...
  await sim.crash("n4");
  sim.runUntil(() => sim.peerStatus("n1", "n4") === undefined, 120_000, "n1 to drop n4", 100);
  const n5 = await sim.add("n5", "192.0.2.6:51821");
  n5.orgs = [orgKey];
  n5.certificate = signCertificate(orgSeed, {
    nodeKey: n5.identity.publicKey,
    name: "n3",
    issuedAt: wallSeconds(sim),
    expiresAt: 0,
  }).bytes;
  await sim.start("n5", ["seed"]);
  sim.runUntil(() => sim.peerStatus("n1", "n5")?.state === "alive", 30_000, "n5 to join", 10);
  assertEquals(ask(`n3.${domain}.mesh`), ["NXDOMAIN"]);
  // ...until the org revokes n4 while it is away: then the name is free for n5.
  const away = signOrgControl(orgSeed, "revoke", n4.identity.publicKey, wallSeconds(sim), 2);
  assertEquals(n1.node!.applyOrgControls([away], sim.now, false), 1);
  assertEquals(ask(`n3.${domain}.mesh`), ["NOERROR", meshIpv4(n5.identity.publicKey)]);
});
