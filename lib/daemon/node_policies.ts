/**
 * A node's service policies between `services/` and the device: loaded at start, reloaded when
 * the folder (or the trust it names) changes, and handed to the device, whose workers enforce
 * them on inbound decrypted packets. A bad edit is logged with its file and line and the policy
 * loaded before stays in force (never open, never closed by a typo). A peer's org is the one
 * whose certificate admits it now (`policy_rows.ts`): the device policy is built again whenever
 * org membership moves (a member admitted by certificate, a renewal, a revocation, an expiry,
 * `trusted_orgs/` reloaded), so an org file holds every member it covers and no one else.
 */

import type { Logger } from "../log/logger.ts";
import type { DevicePolicy } from "../policy/device_policy.ts";
import { loadPolicySet, servicesFolder } from "../policy/policy_files.ts";
import type { PolicySet } from "../policy/policy_rules.ts";
import { devicePolicyOf, type PolicyOrgs } from "./policy_rows.ts";
import type { RuleDrops } from "../policy/policy_table.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { PolicyError } from "../policy/policy_parser.ts";
import type { PolicyStatus } from "../control/control_protocol.ts";

/** Policy files settle this long before a reload (editors write in several steps). */
const POLICY_RELOAD_DEBOUNCE_MS = 100;

/** What a node's device offers the policies. */
export interface PolicyDevice {
  setPolicy(policy: DevicePolicy): void;
  policyDrops(): RuleDrops[];
}

/** How a node's policies are set up. */
export interface NodePoliciesOptions {
  configDir: string;
  log: Logger;
  /** The device that enforces them; null with --no-tun (nothing to enforce on). */
  device: PolicyDevice | null;
  /** Org membership from certificates (the node's `OrgTrust`); none: org files hold nobody. */
  orgs?: PolicyOrgs;
}

/** A node's policies: current set, reloads, the watcher. */
export class NodePolicies {
  #set: PolicySet | null = null;
  #error: string | null = null;
  #files = 0;
  #watcher: Deno.FsWatcher | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #reloading: Promise<void> = Promise.resolve();
  /** The org membership version the device policy was built from. */
  #orgVersion = -1;

  constructor(private readonly options: NodePoliciesOptions) {}

  /**
   * Reads `services/` and applies it. On a bad file the previous policy stays (allow all if
   * none was ever loaded — at start-up the daemon refuses to start instead, see `start`).
   */
  reload(): Promise<boolean> {
    // One at a time, in order: an older read must never overwrite a newer one.
    const next = this.#reloading.then(() => this.#reloadNow());
    this.#reloading = next.then(() => {}, () => {});
    return next;
  }

  async #reloadNow(): Promise<boolean> {
    const { configDir, log } = this.options;
    try {
      const loaded = await loadPolicySet(configDir);
      for (const warning of loaded.unresolved) log.warn(`service policy: ${warning}`);
      this.#set = loaded.set;
      this.#files = loaded.files;
      this.#error = null;
      this.#apply();
      if (loaded.files > 0) {
        log.info(
          `service policy: default ${loaded.set.defaultAction}, ${loaded.files} file${
            loaded.files === 1 ? "" : "s"
          }, ${this.#ruleCount()} rules${
            this.options.device === null ? " (not enforced: no data plane)" : ""
          }`,
        );
      }
      return true;
    } catch (error) {
      this.#error = (error as Error).message;
      log.error(
        `service policy not reloaded, keeping the policy loaded before: ${this.#error}`,
      );
      return false;
    }
  }

  /** Loads at start-up (a bad file stops the start: nothing was in force to keep) and watches. */
  async start(): Promise<void> {
    await ensureDirectory(servicesFolder(this.options.configDir));
    if (!await this.reload()) {
      throw new PolicyError(`bad service policy, not starting: ${this.#error}`);
    }
    this.#watch();
  }

  /**
   * Org membership may have moved (the node calls this on admissions and revalidations): the
   * device policy is rebuilt when it did and some org file could apply.
   */
  orgsChanged(): void {
    const orgs = this.options.orgs;
    if (orgs === undefined || orgs.version === this.#orgVersion) return;
    if (this.#set === null || this.#set.orgs.size === 0) return;
    this.#apply();
  }

  #apply(): void {
    const set = this.#set;
    const device = this.options.device;
    if (set === null || device === null) return;
    const orgs = this.options.orgs ?? null;
    this.#orgVersion = orgs?.version ?? -1;
    device.setPolicy(devicePolicyOf(set, orgs));
  }

  #ruleCount(): number {
    const set = this.#set;
    if (set === null) return 0;
    return [set.global, ...set.peers.values(), ...set.orgs.values()].reduce(
      (sum, file) => sum + (file?.rules.length ?? 0),
      0,
    );
  }

  #watch(): void {
    const folder = servicesFolder(this.options.configDir);
    try {
      this.#watcher = Deno.watchFs(folder, { recursive: true });
    } catch (error) {
      this.options.log.warn(
        `cannot watch ${folder} (${
          (error as Error).message
        }); use 'meshguard reload' after policy changes`,
      );
      return;
    }
    (async () => {
      for await (const _event of this.#watcher!) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          if (!this.#stopped) this.reload();
        }, POLICY_RELOAD_DEBOUNCE_MS);
      }
    })().catch(() => {
      // The watcher was closed.
    });
  }

  /** What `status --json` shows. */
  status(): PolicyStatus {
    return {
      default: this.#set?.defaultAction ?? "allow",
      files: this.#files,
      rules: this.#ruleCount(),
      error: this.#error,
      drops: this.options.device?.policyDrops() ?? [],
    };
  }

  /** The set in force (for tests and `show`). */
  get set(): PolicySet | null {
    return this.#set;
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
  }
}
