/**
 * A mesh lab under an admission controller (`up --controller`): the nodes file the controller
 * reads, each node's score file, the flags that point a node at the controller, and whether an
 * observer holds a peer on its device. Shared by the controller mesh test and demo.
 */

import { join } from "node:path";
import type { MeshLab } from "./mesh_lab.ts";

/** Node k's score file in the lab directory. */
export function scoreFileOf(lab: MeshLab, k: number): string {
  return join(lab.directory, `score-${k}.json`);
}

/** Writes node k's score (`overall` in 0..1), as a score command would report it. */
export function setScore(lab: MeshLab, k: number, overall: number, suite: string): Promise<void> {
  return Deno.writeTextFile(scoreFileOf(lab, k), JSON.stringify({ overall, suite_version: suite }));
}

/** Writes the controller's nodes file (`node<k>` → identity key for `nodes`); returns its path. */
export async function writeControllerNodes(lab: MeshLab, nodes: number[]): Promise<string> {
  const path = join(lab.directory, "controller-nodes.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify(Object.fromEntries(nodes.map((k) => [`node${k}`, lab.node(k).publicKey]))),
  );
  return path;
}

/** The `up` flags that put node k under the controller at `url`. */
export function controllerNodeArgs(
  lab: MeshLab,
  url: string,
  k: number,
  reportSeconds: number,
  pollSeconds: number,
): string[] {
  return [
    "--controller",
    url,
    "--controller-node-id",
    `node${k}`,
    "--score-file",
    scoreFileOf(lab, k),
    "--report-interval",
    String(reportSeconds),
    "--controller-poll",
    String(pollSeconds),
  ];
}

/** True when `observer`'s device holds `peer` (the controller admits it there). */
export async function hasWireGuardPeer(
  lab: MeshLab,
  observer: number,
  peer: number,
): Promise<boolean> {
  return (await lab.wireGuardPeers(observer)).some((p) =>
    p.publicKey === lab.node(peer).wireguardPublicKey
  );
}
