/**
 * Where a daemon's control socket lives: /run/meshguard/<interface>.sock for root (a directory
 * every local user can reach, so anyone may ask `status`), otherwise <configDir>/<interface>.sock
 * (an unprivileged daemon cannot write to /run).
 */

import { join } from "node:path";

/** The directory of root daemons' control sockets. */
export const CONTROL_SOCKET_DIR = "/run/meshguard";

/** The default interface name of `up`, `status` and `down`. */
export const DEFAULT_INTERFACE = "mg0";

/** The default control socket path of the daemon on `interfaceName`, for a process of `uid`. */
export function defaultControlPath(
  interfaceName: string,
  configDir: string,
  uid: number | null,
): string {
  // A missing uid (non-POSIX platform) is not root.
  return uid === 0
    ? `${CONTROL_SOCKET_DIR}/${interfaceName}.sock`
    : join(configDir, `${interfaceName}.sock`);
}

/**
 * Linux's rule for interface names (dev_valid_name): 1-15 bytes, not "." or "..", no "/", ":"
 * or whitespace. Checked before a name becomes part of a socket path.
 */
export function isValidInterfaceName(name: string): boolean {
  if (name === "." || name === "..") return false;
  const bytes = new TextEncoder().encode(name).length;
  return bytes >= 1 && bytes <= 15 && !/[/:\s]/.test(name);
}
