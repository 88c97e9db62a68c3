/**
 * Network faults for a mesh lab, made with nftables inside the lab's own node namespaces (this
 * machine has no sch_netem): a partition drops every underlay packet between two groups of
 * nodes; loss drops a random share of what each node receives on its underlay link
 * (`numgen random mod 100 < P`), so a datagram between two nodes is lost with probability P.
 * Each fault is one nft table per namespace; `clearAll()` removes every table this made (the
 * namespaces' removal would too, but a healed fault must leave nothing behind mid-run).
 */

import { join } from "node:path";
import { type MeshLab, run, tryRun } from "../../mesh/helpers/mesh_lab.ts";

const PARTITION_TABLE = "mgsoak_partition";
const LOSS_TABLE = "mgsoak_loss";

/** Whether `nft` can be run (the soak needs it). */
export async function nftMissing(): Promise<boolean> {
  try {
    await new Deno.Command("nft", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return false;
  } catch {
    return true;
  }
}

/** The faults currently installed in one lab, by table and namespace. */
export class NetFaults {
  private readonly lab: MeshLab;
  /** `namespace table` pairs that exist now. */
  private readonly installed = new Set<string>();

  /** Faults for `lab` (nothing installed yet). */
  constructor(lab: MeshLab) {
    this.lab = lab;
  }

  /** The underlay veth of node `k` inside its namespace (named by the lab: `v<tag>n<k>`). */
  private underlayLink(k: number): string {
    return `v${this.lab.tag}n${k}`;
  }

  /** Loads one table (given as nft text) into node `k`'s namespace. */
  private async install(k: number, table: string, body: string): Promise<void> {
    const node = this.lab.node(k);
    const file = join(this.lab.directory, `${table}-${k}.nft`);
    await Deno.writeTextFile(file, `table inet ${table} {\n${body}}\n`, { mode: 0o600 });
    this.installed.add(`${node.namespace} ${table}`);
    try {
      await run("ip", "netns", "exec", node.namespace, "nft", "-f", file);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }

  /** Removes `table` from every namespace holding it. */
  private async remove(table: string): Promise<void> {
    for (const entry of [...this.installed]) {
      const [namespace, name] = entry.split(" ");
      if (name !== table) continue;
      await run("ip", "netns", "exec", namespace, "nft", "delete", "table", "inet", name);
      this.installed.delete(entry);
    }
  }

  /** Drops every underlay packet between a node of `left` and a node of `right`, both ways. */
  async partition(left: number[], right: number[]): Promise<void> {
    const addresses = (group: number[]) => group.map((k) => this.lab.node(k).underlay).join(", ");
    const sides: [number[], number[]][] = [[left, right], [right, left]];
    for (const [group, others] of sides) {
      const set = `{ ${addresses(others)} }`;
      const body = "  chain input {\n    type filter hook input priority 0; policy accept;\n" +
        `    ip saddr ${set} drop\n  }\n` +
        "  chain output {\n    type filter hook output priority 0; policy accept;\n" +
        `    ip daddr ${set} drop\n  }\n`;
      for (const k of group) await this.install(k, PARTITION_TABLE, body);
    }
  }

  /** Removes the partition. */
  heal(): Promise<void> {
    return this.remove(PARTITION_TABLE);
  }

  /** Every node in `nodes` drops `percent` % of what it receives on its underlay link. */
  async loss(nodes: number[], percent: number): Promise<void> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new Error(`loss must be a whole percentage, got ${percent}`);
    }
    for (const k of nodes) {
      const body = "  chain input {\n    type filter hook input priority 0; policy accept;\n" +
        `    iifname "${
          this.underlayLink(k)
        }" numgen random mod 100 < ${percent} counter drop\n  }\n`;
      await this.install(k, LOSS_TABLE, body);
    }
  }

  /** Removes the loss. */
  clearLoss(): Promise<void> {
    return this.remove(LOSS_TABLE);
  }

  /** Packets dropped so far by node `k`'s loss rule (its nft counter), for the report. */
  async lossDrops(k: number): Promise<number> {
    const node = this.lab.node(k);
    const listing = await run(
      "ip",
      "netns",
      "exec",
      node.namespace,
      "nft",
      "list",
      "table",
      "inet",
      LOSS_TABLE,
    );
    const counter = listing.match(/counter packets (\d+)/);
    if (!counter) throw new Error(`no loss counter in ${node.namespace}:\n${listing}`);
    return Number(counter[1]);
  }

  /** Removes every table still installed (best effort: used in `finally`). */
  async clearAll(): Promise<void> {
    for (const entry of [...this.installed]) {
      const [namespace, name] = entry.split(" ");
      await tryRun("ip", ["netns", "exec", namespace, "nft", "delete", "table", "inet", name])
        .catch(() => {});
      this.installed.delete(entry);
    }
  }
}
