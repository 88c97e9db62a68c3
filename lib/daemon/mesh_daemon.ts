/**
 * The mesh daemon (`meshguard up`): the shell around a `MeshNode` (membership, peers, device
 * wiring). It owns what touches the system: identity and trust from the config directory (live
 * reload of `authorized_keys/`), the WireGuard device or gossip socket, mesh addresses via
 * rtnetlink, the one membership timer, the handshake poll, and graceful leave and teardown.
 * Membership and control run on this thread; packets never do (they stay in the device's
 * workers).
 */

import { decodeBase64Strict, encodeBase64 } from "../encoding/base64.ts";
import type { Identity } from "../identity/identity.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import type { Logger } from "../log/logger.ts";
import { trustFolder } from "../trust/trust_store.ts";
import { ensureDirectory } from "../config/config_dir.ts";
import type { UserspaceDevice } from "../device/userspace_device.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { VERSION } from "../version.ts";
import type { DaemonStatus, NetcheckReport } from "../control/control_protocol.ts";
import { STUN_MIN_REFRESH_GAP_MS, STUN_TRANSACTION_MS } from "../stun/stun_client.ts";
import { advertisedEndpoints } from "./local_endpoints.ts";
import { AddressWatch } from "./address_watch.ts";
import { endpointCandidates } from "./endpoint_candidates.ts";
import { HolderRecordsSaver, loadHolderRecords } from "./holder_records.ts";
import { ConfigWatch } from "./config_watch.ts";
import { type MeshDevice, MeshNode } from "./mesh_node.ts";
import { PeerGate } from "../controller/peer_gate.ts";
import { ControllerAgent } from "../controller/controller_agent.ts";
import { reportSigner } from "../controller/report_signature.ts";
import { readSigner } from "../controller/request_auth.ts";
import { type MeshTransport, openGossipSocket } from "./mesh_transport.ts";
import { takeBootEpoch } from "./boot_epoch.ts";
import { resolveSeeds, resolveStunSetting } from "./seeds.ts";
import { NodePolicies } from "./node_policies.ts";
import { NodeDns } from "./node_dns.ts";
import { orgFolders, persistHeardControl } from "./node_org.ts";
import { DaemonDeviceError, gossipOnlyDevice, startTunDevice } from "./daemon_device.ts";
import { loadOrCreateIdentity, ownName } from "./node_identity.ts";
import { readDaemonTrust, sameCertificate } from "./daemon_trust.ts";
import { DaemonError, type MeshDaemonOptions } from "./daemon_options.ts";

export { DaemonError, type MeshDaemonOptions } from "./daemon_options.ts";

/** How often the device's handshakes are read for the log ("tunnel up"). */
const HANDSHAKE_POLL_MS = 2_000;
/** How long a graceful leave may take to reach other members before we go. */
const LEAVE_GRACE_MS = 1_000;
/** How long `netcheck` waits for a fresh STUN round (a merged refresh, then a whole round). */
const NETCHECK_WAIT_MS = STUN_MIN_REFRESH_GAP_MS + STUN_TRANSACTION_MS + 500;
/** How often `netcheck` looks whether the round ended. */
const NETCHECK_POLL_MS = 50;

/** A running mesh daemon. */
export class MeshDaemon {
  readonly #options: MeshDaemonOptions;
  readonly #log: Logger;
  readonly #identity: Identity;
  readonly #node: MeshNode;
  #device: UserspaceDevice | null = null;
  /** `services/` policies, enforced by the device's workers (lib/policy/). */
  #policies: NodePolicies | null = null;
  #dns: NodeDns | null = null;
  #gossip: MeshTransport | null = null;
  #port = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setInterval> | undefined;
  #addressWatch: AddressWatch | null = null;
  #configWatch: ConfigWatch | null = null;
  /** The org folders watched with `authorized_keys/`. */
  #orgFolders: string[] = [];
  /** The certificate our record carries (node.cert). */
  #certificate: Uint8Array | null = null;
  readonly #holders: HolderRecordsSaver;
  #stopping: Promise<void> | null = null;
  readonly #gate: PeerGate | undefined;
  #agent: ControllerAgent | null = null;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  private constructor(options: MeshDaemonOptions, identity: Identity) {
    this.#options = options;
    this.#log = options.log;
    this.#identity = identity;
    this.#gate = options.controller ? new PeerGate() : undefined;
    this.#holders = new HolderRecordsSaver(options.configDir, () => this.#node.peers, options.log);
    this.#node = new MeshNode({
      peerFilter: this.#gate,
      identity,
      open: options.open,
      maxMembers: options.maxMembers,
      log: options.log,
      selfName: ownName(),
      onSchedule: (deadline) => this.#arm(deadline),
      onOrgControl: (message) => {
        persistHeardControl(options.configDir, message, options.log);
      },
      onOrgChange: () => this.#policies?.orgsChanged(),
      onRecordsChanged: () => {
        if (!this.#stopping) this.#holders.schedule();
      },
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
    await loadHolderRecords(configDir, this.#node.peers, log);
    this.#orgFolders = await orgFolders(configDir);
    await this.#reloadTrust();
    if (open) {
      log.warn(
        "--open: admitting every node that speaks the protocol (no trust check), at most " +
          `${this.#node.peers.maxMembers} besides trusted keys (--max-members)`,
      );
    }

    const { addresses: seeds, problems } = await resolveSeeds(this.#options.seeds);
    for (const problem of problems) {
      log.warn(`seed ${problem.seed} not resolved: ${problem.message}`);
    }

    const onDatagrams = (datagrams: ForeignDatagram[]) => {
      if (!this.#stopping) this.#node.receive(datagrams, performance.now());
    };
    let device: MeshDevice;
    if (this.#options.noTun) {
      const gossip = await openGossipSocket(this.#options.port, onDatagrams);
      this.#gossip = gossip;
      this.#port = gossip.port;
      log.info(`gossip only (--no-tun) on UDP port ${this.#port}`);
      if (this.#options.relay) {
        log.warn("--relay is ignored with --no-tun (no data path to relay on)");
      }
      device = gossipOnlyDevice(gossip);
    } else {
      const { interfaceName, mtu, port, workers, offload } = this.#options;
      device = await startTunDevice({
        interfaceName,
        mtu,
        port,
        workers,
        offload,
        publicKey,
        log,
        onSwimDatagrams: onDatagrams,
        onFailure: (message) => {
          log.error(message);
          this.stop("the data plane failed");
        },
      }, (started) => {
        this.#device = started;
        this.#port = started.listenPort;
      }).catch((error) => {
        throw error instanceof DaemonDeviceError ? new DaemonError(error.message) : error;
      });
    }
    this.#policies = new NodePolicies({
      configDir,
      log,
      device: this.#device,
      orgs: this.#node.org,
    });
    await this.#policies.start();

    const announced = await resolveSeeds(this.#options.announce ?? []);
    for (const problem of announced.problems) {
      log.warn(`--announce ${problem.seed} not resolved: ${problem.message}`);
    }
    const endpoints = advertisedEndpoints(
      Deno.networkInterfaces(),
      this.#port,
      this.#options.interfaceName,
    );
    const ownSeeds = new Set(endpoints);
    const stun = await resolveStunSetting(this.#options.stun, log);
    const joinThrough = seeds.filter((seed) => !ownSeeds.has(seed));
    log.info(
      `advertising ${
        endpointCandidates({ announced: announced.addresses, local: endpoints, reflexive: [] })
          .join(", ") || "no endpoint"
      }; seeds: ${joinThrough.join(", ") || "none"}`,
    );
    const epoch = await takeBootEpoch(configDir);
    log.debug(`membership boot epoch ${epoch}`);
    try {
      this.#node.start(
        {
          device,
          epoch,
          endpoints,
          announce: announced.addresses,
          seeds: joinThrough,
          stun,
          relay: this.#options.relay ?? false,
          relayLimits: this.#options.relayLimits,
          certificate: this.#certificate,
        },
        performance.now(),
      );
    } catch (error) {
      throw new DaemonError((error as Error).message);
    }
    this.#configWatch = ConfigWatch.start(configDir, this.#orgFolders, log, () => {
      // reload() has logged why it failed.
      this.reload().catch(() => {});
    });
    this.#watchAddresses(endpoints);
    if (this.#device && this.#options.dns !== false) {
      // Names are a convenience: the mesh runs without them, so a busy port 53 is only logged.
      this.#dns = await NodeDns.start({
        peers: this.#node.peers,
        publicKey,
        interfaceName: this.#options.interfaceName,
        addresses: [meshIpv4(publicKey), meshIpv6(publicKey)],
        log,
      }).catch((error) => {
        log.error((error as Error).message);
        return null;
      });
    }
    if (this.#options.controller && this.#gate) {
      const gate = this.#gate;
      this.#agent = new ControllerAgent({
        ...this.#options.controller,
        sign: reportSigner(this.#identity.seed),
        signRead: readSigner(this.#identity.seed),
        log,
        onAdmitted: (admitted) => {
          gate.setAdmitted(admitted);
          this.#node.refilter();
        },
      });
      this.#agent.start();
    }
    if (this.#device) {
      this.#handshakeTimer = setInterval(() => this.#node.pollTunnels(), HANDSHAKE_POLL_MS);
    }
  }

  /**
   * Follows interface address changes: the record's local candidates are re-signed and STUN is
   * asked again from the mesh port (a new address often means a new NAT and mapping).
   */
  #watchAddresses(initial: string[]): void {
    this.#addressWatch = new AddressWatch({
      port: this.#port,
      meshInterface: this.#options.interfaceName,
      initial,
      read: () => Deno.networkInterfaces(),
      onChange: (endpoints) => {
        if (this.#stopping) return;
        this.#log.info(`local addresses changed: advertising ${endpoints.join(", ") || "none"}`);
        const now = performance.now();
        this.#node.setLocalEndpoints(endpoints, now);
        this.#node.refreshStun(now, endpoints);
      },
    });
    this.#addressWatch.start();
  }

  #arm(deadline: number): void {
    clearTimeout(this.#timer);
    if (deadline === Infinity || this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#node.tick(performance.now());
    }, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  // ─── trust ───

  async #reloadTrust(): Promise<void> {
    const { configDir, open } = this.#options;
    const { entries, org, pins } = await readDaemonTrust(
      configDir,
      this.#identity,
      open,
      this.#log,
    );
    this.#node.setTrust(entries, pins, performance.now());
    this.#node.setOrgTrust(org.orgKeys, org.controls, performance.now());
    const certificate = org.certificate?.bytes ?? null;
    if (!sameCertificate(certificate, this.#certificate)) {
      this.#certificate = certificate;
      this.#node.setCertificate(certificate, performance.now());
    }
  }

  /**
   * Re-reads the trust store and `services/` now (also the control socket's `reload`). On
   * failure (an unsafe or unreadable store, a bad policy file) what was loaded before stays in
   * force, neither widened nor dropped.
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
    // A policy file may name a peer that was just trusted (or revoked). A refused policy has
    // been logged, and the one before stays; `reload` over the control socket reports it.
    if (this.#policies !== null && !await this.#policies.reload()) {
      throw new DaemonError(`service policy not reloaded: ${this.#policies.status().error}`);
    }
  }

  // ─── observation ───

  /** What `meshguard status` shows. */
  status(): Promise<DaemonStatus> {
    const status = this.#node.status({
      pid: Deno.pid,
      interface: this.#options.noTun ? "" : this.#options.interfaceName,
      port: this.#port,
    });
    if (this.#policies !== null) status.policy = this.#policies.status();
    if (this.#agent !== null && this.#gate !== undefined) {
      const gate = this.#gate;
      status.controller = {
        ...this.#agent.status(Date.now()),
        // Members the mesh wants on the device that the controller keeps off it.
        gated: status.peers.filter((peer) =>
          (peer.state === "alive" || peer.state === "suspect") &&
          !gate.installed(decodeBase64Strict(peer.wireguard_public_key))
        ).map((peer) => peer.name),
      };
    }
    return Promise.resolve(status);
  }

  /**
   * What `meshguard netcheck` shows: asks the STUN servers again from the mesh port and waits
   * (at most NETCHECK_WAIT_MS) for that round to end.
   */
  async netcheck(): Promise<NetcheckReport> {
    const node = this.#node;
    const before = node.stunRounds;
    node.refreshStun(performance.now());
    const until = performance.now() + NETCHECK_WAIT_MS;
    while (
      node.stunServers.length > 0 && node.stunRounds === before && !this.#stopping &&
      performance.now() < until
    ) {
      await new Promise((resolve) => setTimeout(resolve, NETCHECK_POLL_MS));
    }
    return node.netcheck(this.#port);
  }

  // ─── shutdown ───

  /** Leaves the mesh gracefully, removes the interface and stops; idempotent. */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.#log.info(`stopping: ${reason}`);
    this.#agent?.stop();
    clearInterval(this.#handshakeTimer);
    this.#addressWatch?.stop();
    this.#configWatch?.stop();
    this.#policies?.stop();
    clearTimeout(this.#timer);
    await this.#dns?.stop();
    await this.#leave();
    await this.#holders.flush();
    if (this.#node.started) {
      await this.#node.stop();
    } else {
      // Start-up failed before the node took the device or socket.
      await this.#device?.stop();
      await this.#gossip?.close();
    }
    this.#identity.seed.fill(0);
    this.#log.info("stopped");
    this.#resolveDone();
  }

  /** Announces our leave and keeps membership running briefly so it gets out. */
  async #leave(): Promise<void> {
    const node = this.#node;
    if (node.swim === null) return;
    node.leave(performance.now());
    const until = performance.now() + LEAVE_GRACE_MS;
    while (performance.now() < until && node.pendingBroadcasts > 0) {
      const wait = Math.min(until, node.swim.nextDeadline()) - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, Math.min(wait, 100))));
      node.leaveStep(performance.now());
    }
  }
}
