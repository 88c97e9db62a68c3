/**
 * A deterministic router for in-process meshes: it moves UDP datagrams between hosts in fake
 * time with latency, seeded loss and partitions, and puts hosts behind NATs. A NAT is
 * first-class: its hosts have private addresses in its own realm; on the way out it maps the
 * source (endpoint-independent, address-dependent or address-and-port-dependent, i.e.
 * symmetric), on the way in it filters (the same three, RFC 4787) and mappings expire after
 * a timeout without outbound traffic. There is no hairpinning: hosts behind one NAT reach each
 * other on their private addresses. A NAT may sit behind another (carrier-grade double NAT):
 * its public IP is then an address in the outer NAT's realm.
 */

import { mulberry32 } from "../swim/sim/prng.ts";

/** `ip:port`, as membership and the devices write endpoints. */
export type Address = string;

/** How a NAT picks and keeps an outside port (RFC 4787 §4.1) or filters (§5). */
export type NatDependence = "endpoint-independent" | "address-dependent" | "address-port-dependent";

/** A NAT's behaviour. */
export interface NatBehaviour {
  /** Which outside port a flow gets: one per inside endpoint, per destination IP, or per destination. */
  mapping: NatDependence;
  /** Which outside sources may answer through a mapping. */
  filtering: NatDependence;
  /** A mapping is dropped this long after its last outbound datagram (ms). */
  mappingTimeoutMs: number;
}

/** One datagram in flight. */
export interface RoutedDatagram {
  /** Source as the receiver sees it (after translation). */
  from: Address;
  /** Destination as the receiver sees it (its own private address behind a NAT). */
  to: Address;
  data: Uint8Array;
  /** The realm it travels in: "" the public internet, else a NAT's name (its LAN). */
  realm: string;
  at: number;
  seq: number;
}

/** Why the router dropped a datagram (counted per reason). */
export type DropReason = "loss" | "partition" | "no-host" | "filtered" | "no-mapping";

/** Receives what the router delivers to one host. */
export type HostHandler = (from: Address, data: Uint8Array, now: number) => void;

interface Mapping {
  inside: Address;
  outsidePort: number;
  /** Outside endpoints (or IPs, by filtering) the inside host has sent to. */
  permitted: Set<string>;
  expiresAt: number;
}

function ipOf(address: Address): string {
  return address.slice(0, address.lastIndexOf(":"));
}

function portOf(address: Address): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** A NAT: one public IP in front of a private realm. */
export class Nat {
  /** Active mappings by their key (see `#key`). */
  readonly #byKey = new Map<string, Mapping>();
  readonly #byPort = new Map<number, Mapping>();
  #nextPort = 40_000;

  constructor(
    readonly name: string,
    readonly publicIp: string,
    readonly behaviour: NatBehaviour,
    /** The NAT its public side sits behind (double NAT), or null: the internet. */
    readonly parent: Nat | null = null,
  ) {}

  /** Live mappings now (expired ones are dropped). */
  mappings(now: number): { inside: Address; outside: Address }[] {
    this.#expire(now);
    return [...this.#byPort.values()].map((m) => ({
      inside: m.inside,
      outside: `${this.publicIp}:${m.outsidePort}`,
    }));
  }

  /** Drops every mapping (as `conntrack -F`): the next outbound datagram gets a new port. */
  flush(): void {
    this.#byKey.clear();
    this.#byPort.clear();
  }

  #key(inside: Address, to: Address): string {
    switch (this.behaviour.mapping) {
      case "endpoint-independent":
        return inside;
      case "address-dependent":
        return `${inside}>${ipOf(to)}`;
      case "address-port-dependent":
        return `${inside}>${to}`;
    }
  }

  #permit(to: Address): string {
    return this.behaviour.filtering === "address-dependent" ? ipOf(to) : to;
  }

  #expire(now: number): void {
    for (const [key, mapping] of this.#byKey) {
      if (mapping.expiresAt > now) continue;
      this.#byKey.delete(key);
      this.#byPort.delete(mapping.outsidePort);
    }
  }

  /** Translates an outbound datagram's source; creates or refreshes the mapping. */
  outbound(inside: Address, to: Address, now: number): Address {
    this.#expire(now);
    const key = this.#key(inside, to);
    let mapping = this.#byKey.get(key);
    if (mapping === undefined) {
      mapping = { inside, outsidePort: this.#nextPort++, permitted: new Set(), expiresAt: 0 };
      this.#byKey.set(key, mapping);
      this.#byPort.set(mapping.outsidePort, mapping);
    }
    mapping.permitted.add(this.#permit(to));
    mapping.expiresAt = now + this.behaviour.mappingTimeoutMs;
    return `${this.publicIp}:${mapping.outsidePort}`;
  }

  /** The inside endpoint an inbound datagram goes to, or why it does not pass. */
  inbound(outsidePort: number, from: Address, now: number): Address | "no-mapping" | "filtered" {
    this.#expire(now);
    const mapping = this.#byPort.get(outsidePort);
    if (mapping === undefined) return "no-mapping";
    if (this.behaviour.filtering !== "endpoint-independent") {
      if (!mapping.permitted.has(this.#permit(from))) return "filtered";
    }
    return mapping.inside;
  }
}

/** Where a host sits: the public internet, or behind a NAT. */
interface HostEntry {
  address: Address;
  nat: Nat | null;
  handler: HostHandler;
}

/** Options of a router. */
export interface RouterOptions {
  /** Seeds loss and jitter. */
  seed: number;
  /** One-way latency (ms). */
  latencyMs?: number;
  /** Extra latency drawn uniformly from [0, jitterMs). */
  jitterMs?: number;
  /** Fake time at the start. */
  now?: number;
}

/** Moves datagrams between hosts in fake time. */
export class SimRouter {
  now: number;
  /** Probability that any one datagram is lost. */
  loss = 0;
  latencyMs: number;
  jitterMs: number;
  readonly drops: Record<DropReason, number> = {
    "loss": 0,
    "partition": 0,
    "no-host": 0,
    "filtered": 0,
    "no-mapping": 0,
  };
  /** Datagrams delivered so far. */
  delivered = 0;
  readonly #random: () => number;
  /** Hosts by realm ("" = public, else the NAT's name), then by address. */
  readonly #realms = new Map<string, Map<Address, HostEntry>>();
  /** NATs by the realm their public side is in, then by public IP. */
  readonly #nats = new Map<string, Map<string, Nat>>();
  /** Pending deliveries, ordered by (at, seq). */
  #queue: RoutedDatagram[] = [];
  #seq = 0;
  /** IPs (public or private) in separate groups cannot reach each other. */
  #partition: Map<string, number> | null = null;
  /** Sees every datagram the router is asked to carry (before loss and filtering). */
  tap: ((from: Address, to: Address, data: Uint8Array) => void) | null = null;
  /** Loses the datagrams it returns true for (counted as loss): a test's targeted drops. */
  drop: ((from: Address, to: Address, data: Uint8Array) => boolean) | null = null;

  constructor(options: RouterOptions) {
    this.#random = mulberry32(options.seed);
    this.now = options.now ?? 1_000_000;
    this.latencyMs = options.latencyMs ?? 5;
    this.jitterMs = options.jitterMs ?? 0;
  }

  /** Adds a NAT whose public IP is `publicIp` (an address in `parent`'s realm, if given). */
  addNat(name: string, publicIp: string, behaviour: NatBehaviour, parent: Nat | null = null): Nat {
    const nat = new Nat(name, publicIp, behaviour, parent);
    const realm = parent?.name ?? "";
    let nats = this.#nats.get(realm);
    if (nats === undefined) this.#nats.set(realm, nats = new Map());
    nats.set(publicIp, nat);
    return nat;
  }

  /** True when `to` is reachable inside `realm` without leaving it (a host or a NAT's face). */
  #inRealm(realm: string, to: Address): boolean {
    return this.#realms.get(realm)?.has(to) === true ||
      this.#nats.get(realm)?.has(ipOf(to)) === true;
  }

  /** Attaches a host at `address` (private when behind `nat`). */
  attach(address: Address, handler: HostHandler, nat: Nat | null = null): void {
    const realm = nat?.name ?? "";
    let hosts = this.#realms.get(realm);
    if (hosts === undefined) this.#realms.set(realm, hosts = new Map());
    hosts.set(address, { address, nat, handler });
  }

  /** Detaches the host (a crash: what is in flight to it is lost). */
  detach(address: Address, nat: Nat | null = null): void {
    this.#realms.get(nat?.name ?? "")?.delete(address);
  }

  /** Splits the network: IPs in different groups cannot reach each other. Null heals it. */
  partition(groups: string[][] | null): void {
    if (groups === null) {
      this.#partition = null;
      return;
    }
    this.#partition = new Map();
    groups.forEach((group, index) => {
      for (const ip of group) this.#partition!.set(ip, index);
    });
  }

  #separated(a: string, b: string): boolean {
    const partition = this.#partition;
    if (partition === null) return false;
    const ga = partition.get(a);
    const gb = partition.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** Sends `data` from the host at `from` (its own address, private behind a NAT) to `to`. */
  send(from: Address, to: Address, data: Uint8Array, nat: Nat | null = null): void {
    this.tap?.(from, to, data);
    if (this.drop?.(from, to, data) === true || (this.loss > 0 && this.#random() < this.loss)) {
      this.drops.loss++;
      return;
    }
    if (this.#separated(ipOf(from), ipOf(to))) {
      this.drops.partition++;
      return;
    }
    let source = from;
    let realm = nat?.name ?? "";
    // Within one realm (the internet, or one NAT's LAN) a datagram goes as is; out of a LAN the
    // NAT maps its source, and so on outwards through nested NATs.
    for (let current = nat; current !== null && !this.#inRealm(realm, to);) {
      source = current.outbound(source, to, this.now);
      current = current.parent;
      realm = current?.name ?? "";
    }
    const jitter = this.jitterMs > 0 ? Math.floor(this.#random() * this.jitterMs) : 0;
    const datagram: RoutedDatagram = {
      from: source,
      to,
      data: data.slice(),
      realm,
      at: this.now + this.latencyMs + jitter,
      seq: this.#seq++,
    };
    // Latency is mostly constant: the new datagram belongs at or near the end.
    let at = this.#queue.length;
    while (at > 0 && this.#queue[at - 1].at > datagram.at) at--;
    this.#queue.splice(at, 0, datagram);
  }

  /** When the next datagram arrives (Infinity: none in flight). */
  nextArrival(): number {
    return this.#queue.length === 0 ? Infinity : this.#queue[0].at;
  }

  /** Delivers everything due by `now` (including what deliveries send with no latency). */
  deliverDue(now: number): void {
    this.now = now;
    while (this.#queue.length > 0 && this.#queue[0].at <= now) {
      const datagram = this.#queue.shift()!;
      this.#deliver(datagram);
    }
  }

  #deliver(datagram: RoutedDatagram): void {
    let realm = datagram.realm;
    let to = datagram.to;
    const from = datagram.from;
    // A datagram to a NAT's public IP is translated into its LAN, and so on inwards.
    for (let nat = this.#nats.get(realm)?.get(ipOf(to)); nat !== undefined;) {
      const inside = nat.inbound(portOf(to), from, this.now);
      if (inside === "no-mapping" || inside === "filtered") {
        this.drops[inside]++;
        return;
      }
      // Inbound translation rewrites only the destination: an inner NAT filters on the sender.
      realm = nat.name;
      to = inside;
      nat = this.#nats.get(realm)?.get(ipOf(to));
    }
    const host = this.#realms.get(realm)?.get(to);
    if (host === undefined) {
      this.drops["no-host"]++;
      return;
    }
    this.delivered++;
    host.handler(datagram.from, datagram.data, this.now);
  }
}
