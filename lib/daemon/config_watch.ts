/**
 * Watches the config directory's trust files (`authorized_keys/`, `ipv4_pins`, the org folders
 * and `node.cert`) and calls back, debounced, when one of them changes: trust, revoke and org
 * decisions need no restart.
 */

import { basename, dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.ts";
import { trustFolder } from "../trust/trust_store.ts";
import { IPV4_PINS_FILE } from "./ipv4_claims_store.ts";
import { isOrgFileName } from "./node_org.ts";

/** A burst of file events reloads once, this long after its last event. */
const RELOAD_DEBOUNCE_MS = 100;

/** A running watch (`stop` ends it). */
export class ConfigWatch {
  #watcher: Deno.FsWatcher | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts watching `configDir` and `orgFolders`; a watch that cannot start is logged and the
   * daemon runs on without live reload.
   */
  static start(
    configDir: string,
    orgFolders: readonly string[],
    log: Logger,
    onChange: () => void,
  ): ConfigWatch {
    const watch = new ConfigWatch();
    const folder = trustFolder(configDir, "peer");
    try {
      // The config dir too, for ipv4_pins (`trust --ipv4-owner` on an already trusted key).
      // And the org folders and node.cert: trusted_orgs/, revoked/, vouched/ reload alike.
      watch.#watcher = Deno.watchFs([folder, configDir, ...orgFolders], { recursive: false });
    } catch (error) {
      log.warn(
        `cannot watch ${folder} (${
          (error as Error).message
        }); use 'meshguard reload' semantics: restart after trust changes`,
      );
      return watch;
    }
    const watcher = watch.#watcher;
    (async () => {
      for await (const event of watcher) {
        const relevant = event.paths.some((path) =>
          resolve(dirname(path)) === resolve(folder) || basename(path) === IPV4_PINS_FILE ||
          isOrgFileName(basename(path)) ||
          orgFolders.some((org) => resolve(dirname(path)) === resolve(org))
        );
        if (!relevant) continue;
        clearTimeout(watch.#timer);
        watch.#timer = setTimeout(onChange, RELOAD_DEBOUNCE_MS);
      }
    })().catch(() => {
      // The watcher was closed.
    });
    return watch;
  }

  /** Stops watching; a pending reload is dropped. */
  stop(): void {
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
  }
}
