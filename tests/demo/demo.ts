/**
 * `deno task demo`: what meshguard does today, shown on throwaway config directories.
 * Three nodes create identities, exchange public keys and trust each other; each shows its
 * deterministic mesh addresses. Everything it creates is removed at the end.
 * (The mesh-daemon issue turns this into a live 3-node mesh in network namespaces.)
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PERMISSIONS = ["--allow-env", "--allow-sys=uid", "--allow-read", "--allow-write"];

async function meshguard(configDir: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...PERMISSIONS, "main.ts", ...args, "--config", configDir],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`meshguard ${args.join(" ")} failed:\n${stderr}`);
  if (stderr.trim()) console.log(stderr.trimEnd().replace(/^/gm, "    "));
  return new TextDecoder().decode(output.stdout);
}

const root = await Deno.makeTempDir({ prefix: "meshguard-demo-" });
try {
  const nodes = ["alice", "bob", "carol"];
  const keys = new Map<string, string>();
  for (const node of nodes) {
    console.log(`$ meshguard keygen --config ${join(root, node)}`);
    keys.set(node, (await meshguard(join(root, node), "keygen")).trim());
  }
  for (const node of nodes) {
    for (const peer of nodes) {
      if (peer === node) continue;
      console.log(`$ meshguard trust <${peer}'s key> --name ${peer}   (on ${node})`);
      await meshguard(join(root, node), "trust", keys.get(peer)!, "--name", peer);
    }
  }
  console.log(`\n$ meshguard config show   (on alice)`);
  console.log((await meshguard(join(root, "alice"), "config", "show")).trimEnd());
  const report = JSON.parse(await meshguard(join(root, "bob"), "config", "show", "--json"));
  const seenByBob = report.trusted_peers.map((peer: { name: string }) => peer.name).join(", ");
  console.log(`\nbob trusts: ${seenByBob}; 'meshguard up' (the daemon) is the next milestone.`);
} finally {
  await Deno.remove(root, { recursive: true });
}
console.log("demo finished; temporary config directories removed");
