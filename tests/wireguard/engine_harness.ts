/**
 * In-process WireGuard engines on a fake network with fake time. Each host's data goes through
 * its engine's own data path in place, as a device's threads do: a packet is sealed in a buffer
 * of the host's wasm memory, a transport message opened there.
 */

import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { type Endpoint, formatEndpoint, parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { WireguardEngine } from "../../lib/wireguard/engine.ts";
import type { DataPlaneState } from "../../lib/wireguard/data_plane_state.ts";
import {
  createNoisePrimitives,
  type NoisePrimitives,
} from "../../lib/wireguard/noise_primitives.ts";
import { parseIpv4 } from "../../lib/net/ip_address.ts";
import { MESSAGE_DATA, MESSAGE_DATA_HEADER_SIZE } from "../../lib/wireguard/constants.ts";
import { mulberry32 } from "../swim/sim/prng.ts";

/** A datagram on the fake wire. */
export interface Datagram {
  bytes: Uint8Array;
  from: Endpoint;
  to: Endpoint;
  /** When it was sent (fake time). */
  at: number;
}

/** One simulated host: an engine, its address and what it delivered to its TUN. */
export interface Host {
  name: string;
  engine: WireguardEngine;
  /** The engine's core (instance 0); instance 1 of the same memory is free for a second path. */
  core: CryptoCore;
  endpoint: Endpoint;
  meshAddress: Uint8Array;
  delivered: Uint8Array[];
  sent: Datagram[];
  /** Seals an inner packet from this host's TUN in place and sends it (or stages it). */
  sendPacket(packet: Uint8Array, now: number): void;
  /** One datagram arrives: transport data is opened in place, the rest goes to the engine. */
  receive(bytes: Uint8Array, source: Endpoint, now: number): void;
}

/** Where a host's packet buffer lies: past the engine's nonce and scratch, before 65536. */
const HOST_BUFFER_OFFSET = 32768;
/** Bytes of that buffer (a transport message of the largest packet fits). */
const HOST_BUFFER_BYTES = 4096;

/** How `FakeNetwork.addHost` makes a host; the defaults draw keys from the OS. */
export interface HostOptions {
  state?: DataPlaneState;
  /** Wraps the core's primitives (e.g. to draw keys and nonces from a seeded PRNG). */
  primitives?: (made: NoisePrimitives) => NoisePrimitives;
  /** Seeds the engine's jitter PRNG; called once the private key is drawn. */
  jitterSeed?: () => number;
}

/** The fake network: queues datagrams, delivers them in order, can drop or rewrite them. */
export class FakeNetwork {
  now = 1_000_000;
  readonly hosts = new Map<string, Host>();
  private readonly queue: Datagram[] = [];
  /** Return false to drop a datagram. */
  filter: (datagram: Datagram) => boolean = () => true;
  /** Rewrites the source of datagrams (a NAT rebinding the port, for roaming tests). */
  rewriteSource: (datagram: Datagram) => Endpoint = (datagram) => datagram.from;

  /** Adds a host whose engine sends onto this network. */
  async addHost(
    name: string,
    endpoint: string,
    meshAddress: string,
    options: HostOptions = {},
  ): Promise<Host> {
    const core = await CryptoCore.create({ instances: 2, keySlots: 64 });
    const made = createNoisePrimitives(core);
    const primitives = options.primitives?.(made) ?? made;
    const self = parseEndpoint(endpoint);
    const host: Host = {
      name,
      core,
      endpoint: self,
      meshAddress: parseIpv4(meshAddress)!,
      delivered: [],
      sent: [],
      engine: undefined as unknown as WireguardEngine,
      sendPacket: (packet, now) => {
        core.bytes.set(packet, buffer + MESSAGE_DATA_HEADER_SIZE);
        if (host.engine.dataPlane.sealInPlace(buffer, packet.length, now, sealed)) {
          send(core.bytes.subarray(buffer, buffer + sealed.length), {
            address: sealed.address,
            port: sealed.port,
          });
        }
      },
      receive: (bytes, source, now) => {
        if (bytes[0] !== MESSAGE_DATA) {
          host.engine.receiveDatagram(bytes, source, now);
          return;
        }
        if (bytes.length > HOST_BUFFER_BYTES) return;
        core.bytes.set(bytes, buffer);
        const inner = host.engine.dataPlane.openInPlace(buffer, bytes.length, source, now);
        if (inner > 0) {
          const at = buffer + MESSAGE_DATA_HEADER_SIZE;
          host.delivered.push(core.bytes.slice(at, at + inner));
        }
      },
    };
    const buffer = core.layout.arenaBase + HOST_BUFFER_OFFSET;
    const sealed = { length: 0, address: new Uint8Array(0), port: 0 };
    const send = (bytes: Uint8Array, to: Endpoint) => {
      host.sent.push({ bytes: bytes.slice(), from: self, to, at: this.now });
      // Its own copy: the receiver may work on the bytes in place, `sent` keeps the original.
      this.inject(bytes.slice(), self, to);
    };
    host.engine = new WireguardEngine({
      primitives,
      core,
      privateKey: primitives.generatePrivateKey(),
      now: this.now,
      wallClock: () => this.now,
      // Drawn after the private key, so a seeded run keeps its order of draws.
      random: mulberry32(options.jitterSeed?.() ?? name.length * 7919), // reproducible jitter
      state: options.state,
      sink: { sendDatagram: send },
    });
    this.hosts.set(formatEndpoint(self), host);
    return host;
  }

  /** Makes two hosts peers of each other with /32 allowed IPs. */
  pair(a: Host, b: Host, options: { pskA?: Uint8Array; pskB?: Uint8Array } = {}): void {
    a.engine.upsertPeer(b.engine.publicKey, { endpoint: b.endpoint, presharedKey: options.pskA });
    a.engine.addAllowedIp(b.engine.publicKey, b.meshAddress, 32);
    b.engine.upsertPeer(a.engine.publicKey, { endpoint: a.endpoint, presharedKey: options.pskB });
    b.engine.addAllowedIp(a.engine.publicKey, a.meshAddress, 32);
  }

  /** Injects a datagram as if it arrived from `from`. */
  inject(bytes: Uint8Array, from: Endpoint, to: Endpoint): void {
    this.queue.push({ bytes, from, to, at: this.now });
  }

  /**
   * Delivers queued datagrams (and what they cause) until the wire is quiet. Everything in
   * flight is one receive batch; handshakes are processed after each batch, as a device
   * would after a recvmmsg.
   */
  settle(limit = 100_000): void {
    for (let round = 0; round < limit; round++) {
      const batch = this.queue.splice(0);
      for (const datagram of batch) {
        if (!this.filter(datagram)) continue;
        const host = this.hosts.get(formatEndpoint(datagram.to));
        host?.receive(datagram.bytes, this.rewriteSource(datagram), this.now);
      }
      let pending = false;
      for (const host of this.hosts.values()) {
        host.engine.processHandshakes(this.now);
        pending ||= host.engine.queuedHandshakes > 0;
      }
      if (this.queue.length === 0 && !pending) return;
    }
  }

  /** Advances time to `until` in steps, running every engine's timers and settling the wire. */
  advance(milliseconds: number, step = 100): void {
    const until = this.now + milliseconds;
    while (this.now < until) {
      this.now = Math.min(until, this.now + step);
      for (const host of this.hosts.values()) host.engine.tick(this.now);
      this.settle();
    }
  }
}

let packetId = 0;

/** A minimal IPv4/UDP packet from `source` to `destination` with a recognisable payload. */
export function ipv4Packet(source: Uint8Array, destination: Uint8Array, payload = 32): Uint8Array {
  const packet = new Uint8Array(28 + payload);
  packet[0] = 0x45;
  packet[2] = packet.length >> 8;
  packet[3] = packet.length & 0xff;
  packet[9] = 17;
  packet.set(source, 12);
  packet.set(destination, 16);
  new DataView(packet.buffer).setUint32(28, ++packetId);
  return packet;
}

/** Sends a packet from host `a`'s TUN to host `b`'s mesh address. */
export function sendBetween(network: FakeNetwork, a: Host, b: Host, payload = 32): Uint8Array {
  const packet = ipv4Packet(a.meshAddress, b.meshAddress, payload);
  a.sendPacket(packet, network.now);
  network.settle();
  return packet;
}

/** Datagrams of a given WireGuard message type a host has sent. */
export function sentOfType(host: Host, type: number): Datagram[] {
  return host.sent.filter((datagram) => datagram.bytes[0] === type);
}
