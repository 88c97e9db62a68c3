/**
 * Whole mesh nodes in one process: each is the daemon's real `MeshNode` (SWIM, peer planning,
 * typed changes) on an in-process WireGuard device (`SimDevice`), attached to the deterministic
 * router. One fake clock drives everything: `run(ms)` delivers datagrams and fires node and
 * device timers in time order, so a run is a function of its seed (identities, WireGuard keys
 * and ephemerals, jitter and loss are all seeded; only WireGuard's random index bits come from
 * the OS, and nothing asserted depends on them).
 */

import type { RelayLimits } from "../../lib/relay/relay_table.ts";
import { encodeBase64, encodeHex } from "../../lib/encoding/base64.ts";
import { type Identity, identityFromSeed } from "../../lib/identity/identity.ts";
import { meshIpv4Bytes } from "../../lib/identity/mesh_address.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { Logger } from "../../lib/log/logger.ts";
import { MeshNode } from "../../lib/daemon/mesh_node.ts";
import { devicePolicyOf } from "../../lib/daemon/policy_rows.ts";
import type { PolicySet } from "../../lib/policy/policy_rules.ts";
import type { OrgControl } from "../../lib/org/org_messages.ts";
import type { StunSetting } from "../../lib/daemon/node_stun.ts";
import type { DaemonStatus, PeerStatus } from "../../lib/control/control_protocol.ts";
import type { DevicePeer } from "../../lib/wireguard/device_config.ts";
import { ipv4Packet } from "../wireguard/engine_harness.ts";
import { mulberry32, randomBytes } from "../swim/sim/prng.ts";
import { SimDevice, WALL_CLOCK_OFFSET } from "./engine_device.ts";
import { type Address, type Nat, SimRouter } from "./router.ts";

/** Fills byte arrays from a seeded PRNG (STUN transaction IDs, reproducible). */
function seededBytes(random: () => number): (bytes: Uint8Array) => void {
  return (bytes) => bytes.set(randomBytes(random, bytes.length));
}

/** Most timer and delivery steps one `run` may take (a runaway loop fails instead of hanging). */
const MAX_STEPS = 2_000_000;

/** One host of the simulation: an identity at an address, running or not. */
export class SimHost {
  node: MeshNode | null = null;
  device: SimDevice | null = null;
  /** Names this host trusts. */
  trusted: string[] = [];
  /** Times restarted. */
  restarts = 0;
  /** Where its STUN answers come from (default: members). */
  stun: StunSetting | undefined = undefined;
  /** Relays for other members (`--relay`), with these limits. */
  relay = false;
  relayLimits: Partial<RelayLimits> = {};
  /** Org keys this host trusts, the org decisions it starts with, and its certificate. */
  orgs: Uint8Array[] = [];
  orgControls: OrgControl[] = [];
  certificate: Uint8Array | null = null;
  /**
   * Service policies its device enforces (null: none), rebuilt as the daemon's `NodePolicies`
   * does whenever the node says org membership moved.
   */
  policy: PolicySet | null = null;
  /** Log lines of every incarnation, for failure messages. */
  readonly logs: string[] = [];

  constructor(
    readonly name: string,
    readonly identity: Identity,
    readonly address: Address,
    readonly nat: Nat | null,
  ) {}

  /** Base64 of the Ed25519 key (as `status` prints it). */
  get publicKey(): string {
    return encodeBase64(this.identity.publicKey);
  }

  /** Base64 of the WireGuard key (as `status` prints it). */
  get wireguardKey(): string {
    return encodeBase64(wireguardPublicKeyOf(this.identity.publicKey));
  }
}

/** How a simulation is built. */
export interface MeshSimOptions {
  seed: number;
  latencyMs?: number;
  jitterMs?: number;
  /**
   * STUN for hosts that set none (default: members). Tests that hand nodes their reflexive
   * endpoints themselves turn it off, so STUN rounds do not replace what they injected.
   */
  stun?: StunSetting;
}

/** N whole nodes on one router and one fake clock. */
export class MeshSim {
  readonly router: SimRouter;
  readonly hosts = new Map<string, SimHost>();
  readonly #random: () => number;
  readonly #seed: number;
  readonly #stun: StunSetting | undefined;

  constructor(options: MeshSimOptions) {
    this.#seed = options.seed;
    this.#stun = options.stun;
    this.#random = mulberry32(options.seed);
    this.router = new SimRouter({
      seed: options.seed ^ 0x5eed,
      latencyMs: options.latencyMs ?? 5,
      jitterMs: options.jitterMs ?? 2,
    });
  }

  /** Fake time now (ms). */
  get now(): number {
    return this.router.now;
  }

  /** Adds a host (not started) with a seeded identity. */
  async add(name: string, address: Address, nat: Nat | null = null): Promise<SimHost> {
    const identity = await identityFromSeed(randomBytes(this.#random, 32));
    const host = new SimHost(name, identity, address, nat);
    this.hosts.set(name, host);
    return host;
  }

  /** The host called `name`. */
  host(name: string): SimHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** Makes `name` trust exactly `names` (live on a running node, as a trust-store reload). */
  trust(name: string, names: string[]): void {
    const host = this.host(name);
    host.trusted = [...names];
    host.node?.setTrust(this.#entries(host), null, this.now);
  }

  /** Makes every named host trust every other. */
  trustEachOther(names: string[]): void {
    for (const name of names) this.trust(name, names.filter((other) => other !== name));
  }

  #entries(host: SimHost) {
    return host.trusted.map((name) => ({ name, publicKey: this.host(name).identity.publicKey }));
  }

  /** Starts a host's node and device now, joining through the named seeds. */
  async start(name: string, seeds: string[] = []): Promise<SimHost> {
    const host = this.host(name);
    if (host.node !== null) throw new Error(`${name} is running`);
    const salt = this.#seed * 7919 + host.restarts * 104729 + [...this.hosts.keys()].indexOf(name);
    const log = new Logger("info", (line) => host.logs.push(`${name}: ${line.trimEnd()}`));
    let device: SimDevice | null = null;
    const applyPolicy = () => {
      if (host.policy !== null) device?.device.setPolicy(devicePolicyOf(host.policy, node.org));
    };
    const node: MeshNode = new MeshNode({
      identity: host.identity,
      open: false,
      log,
      wallClock: () => this.now + WALL_CLOCK_OFFSET,
      onOrgChange: applyPolicy,
    });
    device = await SimDevice.create({
      router: this.router,
      address: host.address,
      nat: host.nat,
      onSwimDatagrams: (datagrams, now) => node.receive(datagrams, now),
      random: mulberry32(salt ^ 0x77),
    });
    applyPolicy();
    node.setTrust(this.#entries(host), null, this.now);
    node.setOrgTrust(host.orgs, host.orgControls, this.now);
    node.start({
      certificate: host.certificate,
      device,
      // A restart takes a later epoch, as the daemon's boot epoch does.
      epoch: Math.floor(this.now) + host.restarts,
      endpoints: [host.address],
      seeds: seeds.map((seed) => this.host(seed).address),
      random: mulberry32(salt),
      stun: host.stun ?? this.#stun,
      stunRandom: seededBytes(mulberry32(salt ^ 0x57a7)),
      relay: host.relay,
      relayLimits: host.relayLimits,
    }, this.now);
    host.node = node;
    host.device = device;
    return host;
  }

  /** Kills a host: no leave, its port goes silent, whatever it had in flight is lost. */
  async crash(name: string): Promise<void> {
    const host = this.host(name);
    await host.node?.stop();
    host.node = null;
    host.device = null;
  }

  /** Crashes (if running) and starts the host again with a later epoch. */
  async restart(name: string, seeds: string[]): Promise<SimHost> {
    await this.crash(name);
    this.host(name).restarts++;
    return this.start(name, seeds);
  }

  /** Runs the mesh for `ms` of fake time. */
  run(ms: number): void {
    const until = this.now + ms;
    const running = () => [...this.hosts.values()].filter((host) => host.node !== null);
    for (let step = 0; step < MAX_STEPS; step++) {
      let next = this.router.nextArrival();
      for (const host of running()) {
        next = Math.min(next, host.node!.nextDeadline(), host.device!.nextDeadline());
      }
      if (next > until) {
        this.router.deliverDue(until);
        return;
      }
      const now = Math.max(this.now, next);
      this.router.deliverDue(now);
      for (const host of running()) {
        if (host.device!.nextDeadline() <= now) host.device!.tick(now);
        if (host.node!.nextDeadline() <= now) host.node!.tick(now);
      }
    }
    throw new Error(`the simulation took ${MAX_STEPS} steps without reaching ${until}`);
  }

  /** Runs until `condition` holds (checked every `stepMs`), at most `timeoutMs`; returns the time taken. */
  runUntil(condition: () => boolean, timeoutMs: number, what: string, stepMs = 100): number {
    const start = this.now;
    while (!condition()) {
      if (this.now - start >= timeoutMs) {
        throw new Error(`${what}: not after ${timeoutMs} ms of simulated time`);
      }
      this.run(stepMs);
    }
    return this.now - start;
  }

  /** `name`'s status (what `meshguard status` would print). */
  status(name: string): DaemonStatus {
    const host = this.host(name);
    if (host.node === null) throw new Error(`${name} is not running`);
    return host.node.status({ pid: 0, interface: `sim-${name}`, port: 0 });
  }

  /** `observer`'s status entry for `subject`, if listed. */
  peerStatus(observer: string, subject: string): PeerStatus | undefined {
    const key = this.host(subject).publicKey;
    return this.status(observer).peers.find((peer) => peer.public_key === key);
  }

  /** `observer`'s WireGuard peer for `subject`, if configured. */
  devicePeer(observer: string, subject: string): DevicePeer | undefined {
    const key = encodeHex(wireguardPublicKeyOf(this.host(subject).identity.publicKey));
    return this.host(observer).device?.devicePeers().find((peer) =>
      encodeHex(peer.publicKey) === key
    );
  }

  /** True when every pair of the named hosts lists the other alive with a recent handshake. */
  fullMesh(names: string[]): boolean {
    return names.every((observer) =>
      names.every((subject) => {
        if (observer === subject) return true;
        const entry = this.peerStatus(observer, subject);
        return entry?.state === "alive" && entry.last_handshake !== null;
      })
    );
  }

  /**
   * Writes an IPv4 packet from `from`'s mesh address to `to`'s into `from`'s TUN; returns it,
   * to find in `to`'s TUN after a run (`arrived`).
   */
  sendPacket(from: string, to: string): Uint8Array {
    const source = meshIpv4Bytes(this.host(from).identity.publicKey);
    const destination = meshIpv4Bytes(this.host(to).identity.publicKey);
    const packet = ipv4Packet(source, destination);
    this.host(from).device!.writeTun(packet);
    return packet;
  }

  /** True when `packet` came out of `name`'s TUN. */
  arrived(name: string, packet: Uint8Array): boolean {
    const key = encodeHex(packet);
    return this.host(name).device?.tunOut.some((out) => encodeHex(out) === key) ?? false;
  }

  /** Every host's log, for a failure message. */
  logs(): string {
    return [...this.hosts.values()].flatMap((host) => host.logs).join("\n");
  }
}

/** The names `formedMesh` uses: a seed and three nodes. */
export const FOUR_NODES = ["seed", "n1", "n2", "n3"];

/** A formed 4-node mesh on 192.0.2.1–4: everyone trusts everyone, all join through `seed`. */
export async function formedMesh(seed: number): Promise<MeshSim> {
  const sim = new MeshSim({ seed });
  for (const [i, name] of FOUR_NODES.entries()) await sim.add(name, `192.0.2.${i + 1}:51821`);
  sim.trustEachOther(FOUR_NODES);
  await sim.start("seed");
  for (const name of FOUR_NODES.slice(1)) await sim.start(name, ["seed"]);
  sim.runUntil(() => sim.fullMesh(FOUR_NODES), 30_000, "full mesh");
  return sim;
}
