/**
 * The NAT lab's knobs: what a test changes on a built site (UDP mapping timeouts, loss, blocked
 * internet addresses, conntrack flush, a forced port change, a port forward) and the counters and
 * mappings it reads back. Each acts on the site's routers through nftables tables of their own
 * (nat_rules.ts), so removing a knob is deleting its table.
 */

import { run, tryRun } from "../../mesh/helpers/mesh_lab.ts";
import type { NatLab } from "./nat_lab.ts";
import {
  BLOCK_TABLE,
  blockRules,
  LOSS_TABLE,
  lossRules,
  type Mapping,
  NAT_TABLE,
  natRules,
  portChangeCommands,
  portForwardCommands,
} from "./nat_rules.ts";

/** The knobs of one lab. */
export class NatKnobs {
  private readonly lab: NatLab;

  /** Knobs for `lab` (nothing changed yet). */
  constructor(lab: NatLab) {
    this.lab = lab;
  }

  /** Packets a site's routers dropped for want of a mapping (the `unsolicited` counters). */
  async unsolicitedDrops(siteName: string): Promise<number> {
    let total = 0;
    for (const router of this.lab.routers(siteName)) {
      const listing = await run(
        "ip",
        "netns",
        "exec",
        router,
        "nft",
        "list",
        "counter",
        "inet",
        NAT_TABLE,
        "unsolicited",
      );
      const packets = listing.match(/packets (\d+)/);
      if (!packets) throw new Error(`no unsolicited counter in ${router}:\n${listing}`);
      total += Number(packets[1]);
    }
    return total;
  }

  /** Sets the UDP mapping timeouts (seconds: unreplied, and once replied both ways) of a site. */
  async setUdpTimeouts(siteName: string, unrepliedS: number, streamS: number): Promise<void> {
    for (const router of this.lab.routers(siteName)) {
      await run(
        "ip",
        "netns",
        "exec",
        router,
        "sysctl",
        "-q",
        "-w",
        `net.netfilter.nf_conntrack_udp_timeout=${unrepliedS}`,
        `net.netfilter.nf_conntrack_udp_timeout_stream=${streamS}`,
      );
    }
  }

  /** The UDP mappings (`conntrack -L -p udp`) of a site's home router, one line each. */
  async mappings(siteName: string): Promise<string[]> {
    const router = this.lab.site(siteName).router;
    if (!router) return [];
    const result = await run("ip", "netns", "exec", router, "conntrack", "-L", "-p", "udp");
    return result.split("\n").filter((line) => line.startsWith("udp"));
  }

  /** Forgets every mapping of a site's routers (`conntrack -F`). */
  async flushMappings(siteName: string): Promise<void> {
    for (const router of this.lab.routers(siteName)) {
      await run("ip", "netns", "exec", router, "conntrack", "-F");
    }
  }

  /**
   * A rebinding: the site's outermost router maps new UDP flows into 40000–40999 from now on and
   * forgets every mapping, so each host's next datagram leaves from another external port.
   */
  async forcePortChange(siteName: string): Promise<void> {
    const site = this.lab.site(siteName);
    if (!site.edge) throw new Error(`site ${siteName} has no NAT to rebind`);
    await this.lab.loadRules(site.edge, portChangeCommands("wan0"));
    await this.flushMappings(siteName);
  }

  /** Forwards UDP `port` of a site's (single-layer) NAT to host `h`; `resetNat` removes it. */
  async forwardPort(siteName: string, h: number, port: number): Promise<void> {
    const site = this.lab.site(siteName);
    if (!site.router || site.carrier) {
      throw new Error(`site ${siteName} has no single NAT to forward a port through`);
    }
    await this.lab.loadRules(
      site.router,
      portForwardCommands("wan0", port, this.lab.host(siteName, h).ip),
    );
  }

  /** Puts a site's NAT rules back as built (after `forcePortChange`) and forgets its mappings. */
  async resetNat(siteName: string): Promise<void> {
    const site = this.lab.site(siteName);
    const layers: [string | null, Mapping | undefined, string][] = [
      [site.carrier, site.spec.carrier, "cgn0"],
      [site.router, site.spec.nat === "public" ? undefined : site.spec.nat, "lan0"],
    ];
    for (const [router, mapping, lan] of layers) {
      if (!router || !mapping) continue;
      await run("ip", "netns", "exec", router, "nft", "delete", "table", "inet", NAT_TABLE);
      await this.lab.loadRules(router, natRules(mapping, lan, "wan0"));
    }
    await this.flushMappings(siteName);
  }

  /** Packets counted by every `counter` of `table` in a site's outermost router (0: no table). */
  async tableDrops(siteName: string, table: string): Promise<number> {
    const edge = this.lab.site(siteName).edge;
    if (!edge) return 0;
    const result = await tryRun("ip", [
      "netns",
      "exec",
      edge,
      "nft",
      "list",
      "table",
      "inet",
      table,
    ]);
    if (result.code !== 0) return 0;
    return [...result.stdout.matchAll(/counter packets (\d+)/g)]
      .reduce((sum, match) => sum + Number(match[1]), 0);
  }

  /** Drops `percent` % of what a site's home router forwards (0 removes the knob). */
  async setLoss(siteName: string, percent: number): Promise<void> {
    const router = this.lab.site(siteName).router;
    if (!router) throw new Error(`site ${siteName} has no router for loss`);
    await tryRun("ip", ["netns", "exec", router, "nft", "delete", "table", "inet", LOSS_TABLE]);
    if (percent > 0) await this.lab.loadRules(router, lossRules(percent));
  }

  /** Drops everything a site's outermost router forwards to or from `addresses` ([]: none). */
  async block(siteName: string, addresses: string[]): Promise<void> {
    const edge = this.lab.site(siteName).edge;
    if (!edge) throw new Error(`site ${siteName} has no router to block with`);
    await tryRun("ip", ["netns", "exec", edge, "nft", "delete", "table", "inet", BLOCK_TABLE]);
    if (addresses.length > 0) await this.lab.loadRules(edge, blockRules(addresses));
  }

  /** Drops traffic between two sites' public addresses, both ways (forces a relay). */
  async blockWanToWan(a: string, b: string): Promise<void> {
    await this.block(a, [this.lab.site(b).publicIp]);
    await this.block(b, [this.lab.site(a).publicIp]);
  }

  /** Removes what `blockWanToWan` added. */
  async unblockWanToWan(a: string, b: string): Promise<void> {
    await this.block(a, []);
    await this.block(b, []);
  }
}
