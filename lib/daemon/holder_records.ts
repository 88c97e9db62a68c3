/**
 * The daemon's recorded holders on disk: who held each mesh IPv4 address (`ipv4_holders`) and
 * each mesh name (`name_holders`), loaded at start and written a moment after they change, so a
 * restart settles collisions the same way.
 */

import type { Logger } from "../log/logger.ts";
import { IPV4_HOLDERS_FILE, readClaims, writeClaims } from "./ipv4_claims_store.ts";
import { readNameHolders, writeNameHolders } from "./name_holders_store.ts";
import type { MeshPeers } from "./mesh_peers.ts";

/** Holders are saved at most this often (joins come in bursts). */
const SAVE_DELAY_MS = 1_000;

/** Loads both holder files into the peer table (problems are logged, the rest is used). */
export async function loadHolderRecords(
  configDir: string,
  peers: MeshPeers,
  log: Logger,
): Promise<void> {
  const holders = await readClaims(configDir, IPV4_HOLDERS_FILE);
  for (const problem of holders.problems) log.warn(problem);
  peers.loadClaims(holders.entries);
  const names = await readNameHolders(configDir);
  for (const problem of names.problems) log.warn(problem);
  peers.names.loadRecords(names.entries);
}

/** Writes the peer table's changed holders, debounced; a failed write is retried later. */
export class HolderRecordsSaver {
  readonly #configDir: string;
  readonly #peers: () => MeshPeers;
  readonly #log: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** A saver for the table `peers` returns (read late: the table is built after the saver). */
  constructor(configDir: string, peers: () => MeshPeers, log: Logger) {
    this.#configDir = configDir;
    this.#peers = peers;
    this.#log = log;
  }

  /** The holders changed: they are written within SAVE_DELAY_MS. */
  schedule(): void {
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  /** Writes what changed now (at shutdown), after any write under way. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const peers = this.#peers();
    const records = peers.takeChangedRecords();
    const names = peers.names.takeChangedRecords();
    if (records === null && names === null) return this.#saving;
    const configDir = this.#configDir;
    this.#saving = this.#saving
      .then(async () => {
        if (records !== null) await writeClaims(configDir, IPV4_HOLDERS_FILE, records);
      })
      .catch((error) => {
        peers.recordsNotSaved();
        this.#log.error(`${(error as Error).message}; retrying in a second`);
      })
      .then(async () => {
        if (names !== null) await writeNameHolders(configDir, names);
      })
      .catch((error) => {
        peers.names.recordsNotSaved();
        this.#log.error(`${(error as Error).message}; retrying in a second`);
      });
    return this.#saving;
  }
}
