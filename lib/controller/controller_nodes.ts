/**
 * The controller's node list (`--nodes FILE`): a JSON object mapping each node id to its
 * meshguard identity public key (the base64 of `meshguard export` / `identity.pub`); `null`
 * is allowed only with `--allow-unsigned`, for nodes running the proof of concept's agent.
 */

import { ConfigError } from "../errors.ts";
import { parseEd25519PublicKey } from "../identity/ed25519_public_key.ts";
import { NODE_ID_PATTERN } from "./benchmark_report.ts";

/** Most nodes one controller admits. */
export const MAX_CONTROLLER_NODES = 1024;

/** Parses the node list; throws ConfigError naming the file and the bad entry. */
export function parseNodesFile(
  text: string,
  path: string,
  allowUnsigned: boolean,
): Map<string, Uint8Array | null> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path} must be a JSON object: {"node-a": "<identity public key>"}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new ConfigError(`${path} lists no nodes`);
  if (entries.length > MAX_CONTROLLER_NODES) {
    throw new ConfigError(`${path} lists more than ${MAX_CONTROLLER_NODES} nodes`);
  }
  const nodes = new Map<string, Uint8Array | null>();
  for (const [id, key] of entries) {
    if (!NODE_ID_PATTERN.test(id)) {
      throw new ConfigError(
        `${path}: "${id}" is not a node id (1-63 letters, digits, '.', '_', '-')`,
      );
    }
    if (key === null && allowUnsigned) {
      nodes.set(id, null);
      continue;
    }
    if (typeof key !== "string") {
      throw new ConfigError(
        `${path}: node "${id}" needs its identity public key (base64)${
          allowUnsigned ? " or null" : ""
        }`,
      );
    }
    try {
      nodes.set(id, parseEd25519PublicKey(key.trim(), `public key of "${id}"`));
    } catch (error) {
      throw new ConfigError(`${path}: ${(error as Error).message}`);
    }
  }
  return nodes;
}
