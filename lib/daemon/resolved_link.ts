/**
 * Tells systemd-resolved, when it runs, to send `.mesh` (and the mesh reverse zones) to the
 * daemon's resolver over the mesh interface, with `resolvectl` (the documented interface onto
 * its D-Bus API), and takes that back at exit. Without systemd-resolved nothing is touched: the
 * README says how to point another resolver at the mesh address.
 */

import type { Logger } from "../log/logger.ts";
import { MESH_IPV4_REVERSE_ZONE, MESH_IPV6_REVERSE_ZONE } from "../dns/dns_table.ts";
import { MESH_ZONE } from "./member_names.ts";

/** systemd-resolved's runtime directory: present exactly while it runs. */
const RESOLVED_RUNTIME = "/run/systemd/resolve";

/** Routing-only domains (`~`): queries under them go to this link's server, nothing else. */
export const MESH_ROUTING_DOMAINS: readonly string[] = [
  `~${MESH_ZONE}`,
  `~${MESH_IPV4_REVERSE_ZONE}`,
  `~${MESH_IPV6_REVERSE_ZONE}`,
];

/** Runs a command; resolves with its exit status and stderr. Tests pass a fake. */
export type CommandRunner = (
  command: string,
  args: string[],
) => Promise<{ ok: boolean; stderr: string }>;

/** How long one resolvectl call may take (a stuck D-Bus must not hold up start or stop). */
const RESOLVECTL_TIMEOUT_MS = 5_000;

/** The real runner (needs --allow-run=resolvectl). */
export const runCommand: CommandRunner = async (command, args) => {
  const output = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(RESOLVECTL_TIMEOUT_MS),
  }).output();
  return { ok: output.success, stderr: new TextDecoder().decode(output.stderr).trim() };
};

/** True when systemd-resolved is running here. */
export function resolvedRunning(): boolean {
  try {
    return Deno.statSync(RESOLVED_RUNTIME).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Registers `servers` and the mesh domains for `interfaceName`; returns the undo (null when
 * nothing was registered). Every failure is logged with what to do instead, never thrown: the
 * resolver still answers whoever asks it directly.
 */
export async function registerWithResolved(
  interfaceName: string,
  servers: string[],
  log: Logger,
  run: CommandRunner = runCommand,
): Promise<(() => Promise<void>) | null> {
  const attempt = async (args: string[]): Promise<boolean> => {
    try {
      const result = await run("resolvectl", args);
      if (result.ok) return true;
      log.warn(`resolvectl ${args.join(" ")} failed: ${result.stderr || "no reason given"}`);
    } catch (error) {
      log.warn(`cannot run resolvectl (${(error as Error).message})`);
    }
    return false;
  };
  const registered = await attempt(["dns", interfaceName, ...servers]) &&
    await attempt(["domain", interfaceName, ...MESH_ROUTING_DOMAINS]);
  if (!registered) {
    log.warn(
      `.mesh names are not registered with systemd-resolved; ask ${servers[0]} directly ` +
        '(README, "Names")',
    );
    await attempt(["revert", interfaceName]);
    return null;
  }
  // The mesh zones are unsigned and absent from the root: with DNSSEC on, resolved would reject
  // their answers unless they are negative trust anchors. Older resolved lack the per-link
  // setting; names then still work with DNSSEC=no or allow-downgrade, so this only warns.
  await attempt(["nta", interfaceName, ...MESH_ROUTING_DOMAINS.map((domain) => domain.slice(1))]);
  log.info(`systemd-resolved sends .mesh queries on ${interfaceName} to ${servers.join(", ")}`);
  return async () => {
    await attempt(["revert", interfaceName]);
  };
}
