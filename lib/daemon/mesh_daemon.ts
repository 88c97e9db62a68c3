/**
 * The mesh daemon (`meshguard up`): identity and trust from the config directory, SWIM
 * membership on the mesh port, a WireGuard device whose peers follow membership, the control
 * socket, and live reload of `authorized_keys/`. Membership and control run on this thread;
 * packets never do (they stay in the device's worker).
 */

import { basename, dirname, join, resolve } from "node:path";
import { encodeBase64, encodeHex } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";
import { generateIdentity, type Identity } from "../identity/identity.ts";
import { loadIdentity, saveIdentity } from "../identity/identity_store.ts";
import { meshIpv4, meshIpv4Bytes, meshIpv6, meshIpv6Bytes } from "../identity/mesh_address.ts";
import { deriveWireguardPrivateKey, wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { Logger } from "../log/logger.ts";
import { listTrusted, trustFolder } from "../trust/trust_store.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import { UserspaceDevice } from "../device/userspace_device.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { SwimEngine } from "../swim/engine.ts";
import type { SwimEvent } from "../swim/events.ts";
import type { SeedSpec } from "../swim/endpoint.ts";
import { createSwimCrypto } from "../swim/swim_crypto.ts";
import { RouteNetlink } from "../../ffi/rtnetlink.ts";
import { VERSION } from "../version.ts";
import { REJECT_AFTER_TIME } from "../wireguard/constants.ts";
import { DeviceConfigError, type DevicePeer } from "../wireguard/device_config.ts";
import type { DaemonStatus, PeerStatus } from "../control/control_protocol.ts";
import { advertisedEndpoints } from "./local_endpoints.ts";
import { IPV4_HOLDERS_FILE, IPV4_PINS_FILE, readClaims, writeClaims } from "./ipv4_claims_store.ts";
import { MeshPeers, type PeerChanges } from "./mesh_peers.ts";
import { type MeshTransport, openGossipSocket } from "./mesh_transport.ts";
import { takeBootEpoch } from "./boot_epoch.ts";
import { resolveSeeds } from "./seeds.ts";

/** How `up` runs the daemon. */
export interface MeshDaemonOptions {
  configDir: string;
  interfaceName: string;
  port: number;
  mtu: number;
  /** Data workers of the device (default: the device's own, one per CPU up to 4). */
  workers?: number;
  /** Admit every key (explicit `--open`). */
  open: boolean;
  /** With `open`: the most members admitted without trust (`--max-members`). */
  maxMembers?: number;
  /** Gossip only: no TUN, no WireGuard. */
  noTun: boolean;
  seeds: SeedSpec[];
  log: Logger;
}

/** Thrown when the daemon cannot start. */
export class DaemonError extends MeshguardError {}

/** How often the device's handshakes are read for the log ("tunnel up"). */
const HANDSHAKE_POLL_MS = 2_000;
/** How long a graceful leave may take to reach other members before we go. */
const LEAVE_GRACE_MS = 1_000;
/** Trust files settle this long before a reload (editors write in several steps). */
const TRUST_RELOAD_DEBOUNCE_MS = 100;
/** Recorded IPv4 holders are saved at most this often (joins come in bursts). */
const CLAIMS_SAVE_DELAY_MS = 1_000;

/** A running mesh daemon. */
export class MeshDaemon {
  readonly #options: MeshDaemonOptions;
  readonly #log: Logger;
  readonly #identity: Identity;
  readonly #peers: MeshPeers;
  #swim!: SwimEngine;
  #device: UserspaceDevice | null = null;
  #gossip: MeshTransport | null = null;
  #port = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setInterval> | undefined;
  #watcher: Deno.FsWatcher | null = null;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  #claimsTimer: ReturnType<typeof setTimeout> | undefined;
  #claimsSaving: Promise<void> = Promise.resolve();
  #tunnelsUp = new Set<string>();
  #stopping: Promise<void> | null = null;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  private constructor(options: MeshDaemonOptions, identity: Identity) {
    this.#options = options;
    this.#log = options.log;
    this.#identity = identity;
    this.#peers = new MeshPeers(identity.publicKey, options.open, {
      maxMembers: options.maxMembers,
    });
    this.#done = new Promise((resolve) => this.#resolveDone = resolve);
  }

  /** Starts everything; on failure, whatever was started is torn down again. */
  static async start(options: MeshDaemonOptions): Promise<MeshDaemon> {
    const identity = await loadOrCreateIdentity(options.configDir, options.log);
    const daemon = new MeshDaemon(options, identity);
    try {
      await daemon.#start();
    } catch (error) {
      await daemon.stop("start-up failed");
      throw error;
    }
    return daemon;
  }

  /** Resolves when the daemon has stopped. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The mesh port actually bound. */
  get port(): number {
    return this.#port;
  }

  async #start(): Promise<void> {
    const { configDir, open, log } = { ...this.#options, log: this.#log };
    const publicKey = this.#identity.publicKey;
    log.info(
      `meshguard ${VERSION}: node ${encodeBase64(publicKey)}, mesh ${meshIpv4(publicKey)} / ${
        meshIpv6(publicKey)
      }`,
    );
    await ensureDirectory(trustFolder(configDir, "peer"));
    const holders = await readClaims(configDir, IPV4_HOLDERS_FILE);
    for (const problem of holders.problems) log.warn(problem);
    this.#peers.loadClaims(holders.entries);
    await this.#reloadTrust();
    if (open) {
      log.warn(
        "--open: admitting every node that speaks the protocol (no trust check), at most " +
          `${this.#peers.maxMembers} besides trusted keys (--max-members)`,
      );
    }

    const { addresses: seeds, problems } = await resolveSeeds(this.#options.seeds);
    for (const problem of problems) {
      log.warn(`seed ${problem.seed} not resolved: ${problem.message}`);
    }

    const onDatagrams = (datagrams: ForeignDatagram[]) => this.#receive(datagrams);
    if (this.#options.noTun) {
      this.#gossip = await openGossipSocket(this.#options.port, onDatagrams);
      this.#port = this.#gossip.port;
      log.info(`gossip only (--no-tun) on UDP port ${this.#port}`);
    } else {
      await this.#startDevice(onDatagrams);
    }

    const endpoints = advertisedEndpoints(
      Deno.networkInterfaces(),
      this.#port,
      this.#options.interfaceName,
    );
    const ownSeeds = new Set(endpoints);
    const joinThrough = seeds.filter((seed) => !ownSeeds.has(seed));
    log.info(
      `advertising ${endpoints.join(", ") || "no endpoint"}; seeds: ${
        joinThrough.join(", ") || "none"
      }`,
    );
    const epoch = await takeBootEpoch(configDir);
    log.debug(`membership boot epoch ${epoch}`);
    this.#swim = new SwimEngine({
      crypto: createSwimCrypto(this.#identity.seed, publicKey),
      trust: { isTrusted: (key) => this.#peers.isTrusted(key) },
      epoch,
      endpoints,
      seeds: joinThrough,
    });
    this.#swim.start(performance.now());
    this.#pump();
    this.#watchTrust();
    if (this.#device) {
      this.#handshakeTimer = setInterval(() => this.#pollHandshakes(), HANDSHAKE_POLL_MS);
    }
  }

  async #startDevice(onSwimDatagrams: (datagrams: ForeignDatagram[]) => void): Promise<void> {
    const { interfaceName, mtu, port, workers } = this.#options;
    this.#device = await UserspaceDevice.start({
      interfaceName,
      mtu,
      listenPort: port,
      workers,
      log: (message) => this.#log.info(message),
      onSwimDatagrams,
      onFailure: (message) => {
        this.#log.error(message);
        this.stop("the data plane failed");
      },
    });
    this.#port = this.#device.listenPort;
    const privateKey = deriveWireguardPrivateKey(this.#identity.seed);
    try {
      this.#device.configure({ privateKey });
    } catch (error) {
      throw new DaemonError(
        `the WireGuard device refused this node's key: ${(error as Error).message}`,
      );
    } finally {
      privateKey.fill(0);
    }
    const netlink = RouteNetlink.open();
    try {
      // Prefix lengths make the kernel add the mesh routes through the interface.
      netlink.addAddress(interfaceName, meshIpv4Bytes(this.#identity.publicKey), 16);
      netlink.addAddress(interfaceName, meshIpv6Bytes(this.#identity.publicKey), 64);
    } catch (error) {
      throw new DaemonError(
        `cannot give ${interfaceName} its mesh addresses: ${(error as Error).message}`,
      );
    } finally {
      netlink.close();
    }
  }

  // ─── membership ───

  #receive(datagrams: ForeignDatagram[]): void {
    // Before membership starts (the socket is bound first) datagrams are dropped: senders retry.
    if (this.#stopping || this.#swim === undefined) return;
    const now = performance.now();
    for (const datagram of datagrams) {
      try {
        this.#swim.receive(datagram.address, datagram.data, now);
      } catch (error) {
        // The engine rejects bad input by counting drops; anything thrown is our bug: log it and
        // keep serving the mesh rather than die on one datagram.
        this.#log.error(`membership failed on a datagram from ${datagram.address}: ${error}`);
      }
    }
    this.#pump();
  }

  /** Sends what membership produced, applies its events and re-arms its timer. */
  #pump(): void {
    this.#sendOutgoing();
    for (const event of this.#swim.drainEvents()) this.#onEvent(event);
    if (this.#peers.takeOverflow()) {
      // Members listed past --max-members in one batch: membership forgets them again.
      this.#swim.revalidateTrust(performance.now());
      for (const event of this.#swim.drainEvents()) this.#onEvent(event);
    }
    this.#apply(this.#peers.drainNotices());
    clearTimeout(this.#timer);
    const deadline = this.#swim.nextDeadline();
    if (deadline === Infinity || this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#swim.tick(performance.now());
      this.#pump();
    }, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  /** Sends what membership has queued, from the mesh port. */
  #sendOutgoing(): void {
    const outgoing = this.#swim.drainOutgoing();
    if (outgoing.length === 0) return;
    const datagrams = outgoing.map((out) => ({ address: out.to, data: out.data }));
    if (this.#device) this.#device.sendDatagrams(datagrams);
    else this.#gossip?.send(datagrams);
  }

  #onEvent(event: SwimEvent): void {
    if (this.#log.enabled("debug")) {
      const who = "member" in event ? ` ${encodeBase64(event.member.publicKey)}` : "";
      this.#log.debug(`membership event ${event.type}${who}`);
    }
    switch (event.type) {
      case "connected":
        this.#log.info("connected to the mesh");
        return;
      case "isolated":
        this.#log.warn("no live member left; retrying the seeds");
        return;
      case "incarnation-exhausted":
        this.#log.error(
          "membership incarnation exhausted: this node can no longer refute accusations; restart meshguard to take a new epoch",
        );
        return;
      case "removed":
        this.#apply(this.#peers.onMember(event.member, true));
        return;
      default:
        this.#apply(this.#peers.onMember(event.member));
    }
  }

  /** Logs a change and applies its peer changes to the device, in order. */
  #apply(changes: PeerChanges): void {
    for (const line of changes.logs) this.#log[line.level](line.message);
    if (this.#peers.recordsChanged && this.#claimsTimer === undefined && !this.#stopping) {
      this.#claimsTimer = setTimeout(() => this.#saveClaims(), CLAIMS_SAVE_DELAY_MS);
    }
    if (changes.peers.length === 0 || this.#device === null) return;
    try {
      this.#device.configure({ peers: changes.peers });
    } catch (error) {
      if (!(error instanceof DeviceConfigError)) throw error;
      this.#log.error(`the WireGuard device refused a peer change: ${error.message}`);
    }
  }

  /** Writes the recorded IPv4 holders, so a restart settles collisions the same way. */
  #saveClaims(): Promise<void> {
    this.#claimsTimer = undefined;
    const records = this.#peers.takeChangedRecords();
    if (records === null) return this.#claimsSaving;
    this.#claimsSaving = this.#claimsSaving
      .then(() => writeClaims(this.#options.configDir, IPV4_HOLDERS_FILE, records))
      .catch((error) => {
        this.#peers.recordsNotSaved();
        this.#log.error(`${(error as Error).message}; retrying in a second`);
      });
    return this.#claimsSaving;
  }

  // ─── trust ───

  async #reloadTrust(): Promise<void> {
    const listing = await listTrusted(this.#options.configDir, "peer");
    for (const problem of listing.problems) {
      this.#log.warn(`trust store: ${problem.path}: ${problem.message}`);
    }
    const own = encodeHex(this.#identity.publicKey);
    const entries = listing.entries.filter((entry) => encodeHex(entry.publicKey) !== own);
    if (entries.length === 0 && !this.#options.open) {
      this.#log.warn(
        "no trusted keys: this node admits nobody (add peers with 'meshguard trust <key>')",
      );
    }
    // An unreadable pin file keeps the pins we had: the trust change still applies.
    const pins = await readClaims(this.#options.configDir, IPV4_PINS_FILE).catch((error) => {
      this.#log.error(`${(error as Error).message}; keeping the previous IPv4 pins`);
      return null;
    });
    for (const problem of pins?.problems ?? []) this.#log.warn(problem);
    if (pins) this.#apply(this.#peers.setPins(pins.entries));
    this.#apply(this.#peers.setTrusted(entries));
    if (this.#swim) {
      this.#swim.revalidateTrust(performance.now());
      this.#pump();
    }
  }

  /** Reloads `authorized_keys/` when it changes, so trust and revoke need no restart. */
  #watchTrust(): void {
    const folder = trustFolder(this.#options.configDir, "peer");
    try {
      // The config dir too, for ipv4_pins (`trust --ipv4-owner` on an already trusted key).
      this.#watcher = Deno.watchFs([folder, this.#options.configDir], { recursive: false });
    } catch (error) {
      this.#log.warn(
        `cannot watch ${folder} (${
          (error as Error).message
        }); use 'meshguard reload' semantics: restart after trust changes`,
      );
      return;
    }
    (async () => {
      for await (const event of this.#watcher!) {
        const relevant = event.paths.some((path) =>
          resolve(dirname(path)) === resolve(folder) || basename(path) === IPV4_PINS_FILE
        );
        if (!relevant) continue;
        clearTimeout(this.#reloadTimer);
        this.#reloadTimer = setTimeout(() => {
          // reload() has logged why it failed.
          this.reload().catch(() => {});
        }, TRUST_RELOAD_DEBOUNCE_MS);
      }
    })().catch(() => {
      // The watcher was closed.
    });
  }

  /**
   * Re-reads the trust store now (also the control socket's `reload`). On failure (an unsafe
   * or unreadable store) the trust loaded before stays in force, neither widened nor dropped.
   */
  async reload(): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#reloadTrust();
    } catch (error) {
      this.#log.error(
        `trust not reloaded, keeping the trust loaded before: ${(error as Error).message}`,
      );
      throw error;
    }
  }

  // ─── observation ───

  #pollHandshakes(): void {
    if (this.#device === null || this.#stopping) return;
    const snapshot = devicePeersByKey(this.#device);
    for (const peer of this.#peers.peers()) {
      const state = snapshot.get(encodeHex(peer.wireguardKey));
      const up = state !== undefined && state.lastHandshake !== null &&
        Date.now() - state.lastHandshake < REJECT_AFTER_TIME;
      if (up && !this.#tunnelsUp.has(peer.id)) {
        this.#tunnelsUp.add(peer.id);
        this.#log.info(`tunnel to ${peer.name} (${peer.meshIpv4}) up, endpoint ${state.endpoint}`);
      } else if (!up && this.#tunnelsUp.has(peer.id)) {
        this.#tunnelsUp.delete(peer.id);
        this.#log.info(`tunnel to ${peer.name} down`);
      }
    }
  }

  /** What `meshguard status` shows. */
  status(): Promise<DaemonStatus> {
    const publicKey = this.#identity.publicKey;
    const snapshot = devicePeersByKey(this.#device);
    const counts = { alive: 0, suspect: 0, dead: 0 };
    const peers: PeerStatus[] = [];
    for (const peer of this.#peers.peers()) {
      const member = this.#swim?.member(peer.publicKey) ?? null;
      if (member === null) continue;
      if (member.state === "alive" || member.state === "suspect" || member.state === "dead") {
        counts[member.state]++;
      }
      const device = snapshot.get(encodeHex(peer.wireguardKey));
      peers.push({
        name: peer.name,
        public_key: encodeBase64(peer.publicKey),
        wireguard_public_key: encodeBase64(peer.wireguardKey),
        mesh_ipv4: peer.configuredIpv4 === false ? null : peer.meshIpv4,
        mesh_ipv6: peer.meshIpv6,
        state: member.state,
        endpoint: device?.endpoint ?? peer.endpoint,
        last_handshake: device?.lastHandshake ? new Date(device.lastHandshake).toISOString() : null,
        rx_bytes: device?.rxBytes ?? 0,
        tx_bytes: device?.txBytes ?? 0,
        connection: "direct",
      });
    }
    return Promise.resolve({
      version: VERSION,
      pid: Deno.pid,
      interface: this.#options.noTun ? "" : this.#options.interfaceName,
      port: this.#port,
      public_key: encodeBase64(publicKey),
      wireguard_public_key: encodeBase64(wireguardPublicKeyOf(publicKey)),
      mesh_ipv4: meshIpv4(publicKey),
      mesh_ipv6: meshIpv6(publicKey),
      open: this.#options.open,
      members: counts,
      max_members: this.#peers.maxMembers,
      refused_members: this.#peers.refusedMembers,
      ipv4_conflicts: this.#peers.ipv4Conflicts(),
      peers,
    });
  }

  // ─── shutdown ───

  /** Leaves the mesh gracefully, removes the interface and stops; idempotent. */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.#log.info(`stopping: ${reason}`);
    clearInterval(this.#handshakeTimer);
    clearTimeout(this.#reloadTimer);
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    if (this.#swim) {
      clearTimeout(this.#timer);
      await this.#leave();
    }
    clearTimeout(this.#claimsTimer);
    await this.#saveClaims();
    await this.#device?.stop();
    await this.#gossip?.close();
    this.#identity.seed.fill(0);
    this.#log.info("stopped");
    this.#resolveDone();
  }

  /** Announces our leave and keeps membership running briefly so it gets out. */
  async #leave(): Promise<void> {
    const swim = this.#swim;
    swim.leave(performance.now());
    const until = performance.now() + LEAVE_GRACE_MS;
    while (performance.now() < until) {
      this.#sendOutgoing();
      swim.drainEvents();
      if (swim.pendingBroadcasts === 0) break;
      const wait = Math.min(until, swim.nextDeadline()) - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, Math.min(wait, 100))));
      swim.tick(performance.now());
    }
    this.#sendOutgoing();
  }
}

async function loadOrCreateIdentity(configDir: string, log: Logger): Promise<Identity> {
  const existing = await loadIdentity(configDir);
  if (existing) return existing;
  const identity = await generateIdentity();
  await saveIdentity(configDir, identity, { force: false });
  log.info(
    `no identity yet: created one in ${join(configDir, "identity.key")} (public key ${
      encodeBase64(identity.publicKey)
    }); give that key to the peers that should trust this node`,
  );
  return identity;
}

/** The device's peers by hex WireGuard key (none without a device). */
function devicePeersByKey(device: UserspaceDevice | null): Map<string, DevicePeer> {
  const peers = new Map<string, DevicePeer>();
  for (const peer of device?.devicePeers() ?? []) peers.set(encodeHex(peer.publicKey), peer);
  return peers;
}
