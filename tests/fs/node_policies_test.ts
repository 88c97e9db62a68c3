/**
 * A node's service policies on a real config dir: what reaches the device, names resolved
 * through the trust store and keys as file names, keep-last-good on a bad edit, a refused start,
 * org files applied to the members their certificates admit, following membership as it moves.
 */

import { join } from "node:path";
import { assertEquals, assertRejects, assertTrue } from "../assert.ts";
import { encodeBase64, encodeHex } from "../../lib/encoding/base64.ts";
import { generateIdentity } from "../../lib/identity/identity.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { Logger } from "../../lib/log/logger.ts";
import { addTrusted } from "../../lib/trust/trust_store.ts";
import { NodePolicies } from "../../lib/daemon/node_policies.ts";
import type { DevicePolicy } from "../../lib/policy/device_policy.ts";
import { formatRule } from "../../lib/policy/policy_rules.ts";
import { PolicyError } from "../../lib/policy/policy_parser.ts";

const never = () => Promise.resolve(false);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meshguard-policy-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function summary(policy: DevicePolicy) {
  return {
    default: policy.defaultAction,
    enforcing: policy.enforcing,
    global: policy.global?.rules.map(formatRule) ?? null,
    peers: policy.peers.map((peer) => ({
      key: encodeHex(peer.wireguardKey),
      peer: peer.peer?.rules.map(formatRule) ?? null,
      org: peer.org?.rules.map(formatRule) ?? null,
    })),
  };
}

Deno.test("node policies: files reach the device, a bad edit keeps the last good policy", () =>
  withDir(async (dir) => {
    const app = (await generateIdentity()).publicKey;
    const other = (await generateIdentity()).publicKey;
    const org = (await generateIdentity()).publicKey;
    await addTrusted(dir, {
      kind: "peer",
      publicKey: app,
      name: "app",
      nameIsExplicit: true,
      confirmReplace: never,
    });
    await addTrusted(dir, {
      kind: "org",
      publicKey: org,
      name: "acme",
      nameIsExplicit: true,
      confirmReplace: never,
    });
    const services = join(dir, "services");
    await Deno.mkdir(join(services, "peer"), { recursive: true, mode: 0o700 });
    await Deno.mkdir(join(services, "org"), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(join(services, "default"), "deny\n");
    await Deno.writeTextFile(join(services, "global.policy"), "allow tcp 80\n");
    await Deno.writeTextFile(join(services, "peer", "app.policy"), "allow tcp 5432\n");
    // A key as the file name (URL-safe base64: '/' cannot be in a name).
    const otherStem = encodeBase64(other).replaceAll("/", "_").replaceAll("+", "-");
    await Deno.writeTextFile(join(services, "peer", `${otherStem}.policy`), "allow tcp 22\n");
    await Deno.writeTextFile(join(services, "peer", "ghost.policy"), "allow all\n");
    await Deno.writeTextFile(join(services, "org", "acme.policy"), "allow udp 53\n");
    const lines: string[] = [];
    const applied: DevicePolicy[] = [];
    const device = { setPolicy: (p: DevicePolicy) => applied.push(p), policyDrops: () => [] };
    const policies = new NodePolicies({
      configDir: dir,
      log: new Logger("info", (line) => lines.push(line)),
      device,
    });
    await policies.start();
    try {
      const appKey = encodeHex(wireguardPublicKeyOf(app));
      const otherKey = encodeHex(wireguardPublicKeyOf(other));
      const first = summary(applied.at(-1)!);
      assertEquals(first.default, "deny");
      assertEquals(first.enforcing, true);
      assertEquals(first.global, ["allow tcp 80"]);
      assertEquals(
        first.peers.sort((a, b) => a.key < b.key ? -1 : 1),
        [
          { key: appKey, peer: ["allow tcp 5432"], org: null },
          { key: otherKey, peer: ["allow tcp 22"], org: null },
        ].sort((a, b) => a.key < b.key ? -1 : 1),
      );
      assertTrue(lines.some((line) => line.includes("peer/ghost.policy: no authorized_keys")));
      assertEquals(policies.status().rules, 4);

      // A bad edit: refused with file and line, the device keeps what it had.
      await Deno.writeTextFile(join(services, "global.policy"), "allow tcp 80\nallow tcp eighty\n");
      const count = applied.length;
      assertEquals(await policies.reload(), false);
      assertEquals(applied.length, count);
      assertTrue(policies.status().error!.startsWith("global.policy:2: bad port 'eighty'"));
      assertEquals(policies.status().default, "deny");
      // Fixed: applied, the error is gone.
      await Deno.writeTextFile(join(services, "global.policy"), "allow tcp 80\nallow tcp 443\n");
      assertEquals(await policies.reload(), true);
      assertEquals(summary(applied.at(-1)!).global, ["allow tcp 80", "allow tcp 443"]);
      assertEquals(policies.status().error, null);
    } finally {
      policies.stop();
    }

    // A certificate member of acme gets acme's file: also a peer without a file of its own
    // (a row is made for it), and the rows follow org membership as it moves.
    const stranger = (await generateIdentity()).publicKey;
    const orgs = {
      version: 0,
      members: [{ nodeKey: app, orgKey: org }],
      admittedMembers() {
        return this.members;
      },
    };
    const withOrg = new NodePolicies({
      configDir: dir,
      log: new Logger("error", () => {}),
      device,
      orgs,
    });
    assertEquals(await withOrg.reload(), true);
    const rowOf = (key: Uint8Array) =>
      summary(applied.at(-1)!).peers.find((peer) =>
        peer.key === encodeHex(wireguardPublicKeyOf(key))
      );
    assertEquals(rowOf(app)?.org, ["allow udp 53"]);
    assertEquals(rowOf(app)?.peer, ["allow tcp 5432"]);
    assertEquals(rowOf(stranger), undefined);
    // Unchanged membership: nothing is published again.
    const published = applied.length;
    withOrg.orgsChanged();
    assertEquals(applied.length, published);
    // A member admitted by certificate arrives: a row of its own, with only the org file.
    orgs.members = [...orgs.members, { nodeKey: stranger, orgKey: org }];
    orgs.version++;
    withOrg.orgsChanged();
    assertEquals(applied.length, published + 1);
    assertEquals(rowOf(stranger), {
      key: encodeHex(wireguardPublicKeyOf(stranger)),
      peer: null,
      org: ["allow udp 53"],
    });
    // Revoked (or expired): its row is gone; app keeps its own file without the org's.
    orgs.members = [];
    orgs.version++;
    withOrg.orgsChanged();
    assertEquals(rowOf(stranger), undefined);
    assertEquals(rowOf(app)?.org, null);
    assertEquals(rowOf(app)?.peer, ["allow tcp 5432"]);
    // An org without a policy file gives its members no row.
    orgs.members = [{ nodeKey: stranger, orgKey: other }];
    orgs.version++;
    withOrg.orgsChanged();
    assertEquals(rowOf(stranger), undefined);
    withOrg.stop();

    // A bad file at start-up stops the start (nothing was in force to keep).
    await Deno.writeTextFile(join(services, "default"), "perhaps\n");
    const refused = new NodePolicies({
      configDir: dir,
      log: new Logger("error", () => {}),
      device,
    });
    await assertRejects(() => refused.start(), PolicyError, /default: must hold 'allow' or 'deny'/);
  }));

Deno.test("node policies: no services/ folder means allow all, not enforcing", () =>
  withDir(async (dir) => {
    const applied: DevicePolicy[] = [];
    const policies = new NodePolicies({
      configDir: dir,
      log: new Logger("error", () => {}),
      device: { setPolicy: (p) => applied.push(p), policyDrops: () => [] },
    });
    await policies.start();
    policies.stop();
    assertEquals(applied.length, 1);
    assertEquals(applied[0].enforcing, false);
    assertEquals(applied[0].defaultAction, "allow");
    assertEquals(policies.status().files, 0);
  }));
