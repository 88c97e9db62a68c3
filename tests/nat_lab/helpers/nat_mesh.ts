/**
 * Real `meshguard up` daemons placed on the NAT lab's hosts (`MeshLab` with `placement`), and
 * the checks the NAT matrix, its bench and `demo:nat` share: when a pair has a direct path (each
 * side's WireGuard endpoint for the other is the other's own NAT mapping, with a handshake), and
 * what a pair's traffic proves (pings over mesh IPv4 and IPv6, a TCP transfer with its SHA-256).
 */

import { MESH_PORT, MeshLab } from "../../mesh/helpers/mesh_lab.ts";
import type { PeerStatus } from "../../mesh/helpers/daemon_status.ts";
import type { NatLab } from "./nat_lab.ts";

export { MESH_PORT };

/** Where one daemon runs: a lab site and its host number, and whether the others trust it. */
export interface Placement {
  site: string;
  host: number;
  /** Default true; an untrusted node trusts everyone but nobody trusts it. */
  trusted?: boolean;
}

/** A mesh of daemons on the NAT lab's hosts (node k is `placements[k - 1]`). */
export class NatMesh {
  readonly mesh: MeshLab;
  readonly lab: NatLab;
  readonly placements: Placement[];

  /** A mesh over `lab` (built by `build()`); nothing starts until `start`. */
  constructor(lab: NatLab, placements: Placement[], progress?: (line: string) => void) {
    this.lab = lab;
    this.placements = placements;
    this.mesh = new MeshLab({
      nodes: placements.length,
      trusts: (_from, to) => placements[to - 1].trusted !== false,
      placement: (k) => {
        const host = lab.host(placements[k - 1].site, placements[k - 1].host);
        return { namespace: host.namespace, underlay: host.ip };
      },
      progress,
    });
  }

  /** Makes the config dirs, identities and trust. */
  build(): Promise<void> {
    return this.mesh.build();
  }

  /**
   * The address the other sites see node k's mesh port at, when its NAT preserves the port (a
   * public host's own address).
   */
  outside(k: number): string {
    const site = this.lab.site(this.placements[k - 1].site);
    const ip = site.router === null ? this.mesh.node(k).underlay : site.publicIp;
    return `${ip}:${MESH_PORT}`;
  }

  /** Node k's underlay (LAN) endpoint. */
  lan(k: number): string {
    return `${this.mesh.node(k).underlay}:${MESH_PORT}`;
  }

  /** Node `at`'s view of node `of` (null when it does not list it). */
  async peer(at: number, of: number): Promise<PeerStatus | null> {
    const status = await this.mesh.status(at);
    return status.peers.find((entry) => entry.public_key === this.mesh.node(of).publicKey) ??
      null;
  }

  /**
   * Waits until a and b each list the other alive, with a handshake, on a direct connection (not
   * through a relay) at an endpoint `expect` accepts (e.g. the other's NAT mapping); returns both endpoints (a's view of b first).
   */
  async waitDirect(
    a: number,
    b: number,
    expect: (endpoint: string, of: number) => boolean,
    timeoutMs: number,
  ): Promise<[string, string]> {
    // What each side last listed, for the failure message (a flake needs more than "null").
    const seen = new Map<string, string>();
    const view = async (at: number, of: number) => {
      const peer = await this.peer(at, of);
      const { state, connection, relay, endpoint, last_handshake, candidates } = peer ?? {};
      seen.set(
        `node${at} → node${of}`,
        peer === null
          ? "not listed"
          : JSON.stringify({ state, connection, relay, endpoint, last_handshake, candidates }),
      );
      return peer?.state === "alive" && peer.connection === "direct" &&
          peer.last_handshake !== null && peer.endpoint !== null && expect(peer.endpoint, of)
        ? peer.endpoint
        : null;
    };
    try {
      return await this.mesh.waitFor(
        async () => {
          const [ab, ba] = [await view(a, b), await view(b, a)];
          return ab !== null && ba !== null ? [ab, ba] as [string, string] : null;
        },
        timeoutMs,
        `a direct path between node${a} and node${b}`,
      );
    } catch (error) {
      const views = [...seen].map(([pair, what]) => `\n  ${pair}: ${what}`).join("");
      throw new Error(`${error instanceof Error ? error.message : error}; last seen:${views}`);
    }
  }

  /** Waits until a and b each reach the other through a relay, with a handshake. */
  async waitRelayed(a: number, b: number, timeoutMs: number): Promise<void> {
    for (const [from, to] of [[a, b], [b, a]]) {
      await this.mesh.waitFor(
        async () => {
          const peer = await this.peer(from, to);
          return peer?.connection === "relay" && peer.last_handshake !== null;
        },
        timeoutMs,
        `node${from} to reach node${to} through a relay`,
      );
    }
  }

  /** Pings both ways over mesh IPv4 and IPv6 (each within `timeoutMs`). */
  async pingBothWays(a: number, b: number, timeoutMs = 15_000): Promise<void> {
    const [na, nb] = [this.mesh.node(a), this.mesh.node(b)];
    await this.mesh.waitForPing(a, nb.meshIpv4, timeoutMs);
    await this.mesh.waitForPing(b, na.meshIpv4, timeoutMs);
    await this.mesh.waitForPing(a, nb.meshIpv6, timeoutMs);
    await this.mesh.waitForPing(b, na.meshIpv6, timeoutMs);
  }

  /** Sends `bytes` over TCP from a to b's mesh IPv4; the SHA-256 must match (MeshLab checks). */
  transfer(a: number, b: number, bytes = 8 << 20) {
    return this.mesh.tcpTransfer(a, b, this.mesh.node(b).meshIpv4, bytes);
  }
}
