/**
 * The throughput bench's Nebula side (root): the same two namespaces and veth as the interop lab
 * (192.0.2.1 ↔ 192.0.2.2), a CA and two host certificates made with `nebula-cert` for this run,
 * and Debian's `nebula` on each side (MTU 1420, static host map, no lighthouse, firewall open),
 * overlay addresses 10.99.0.1 and 10.99.0.2. Processes stop by their own PID; `dispose` removes
 * every namespace, process and file.
 */

import {
  NamespaceProcess,
  pingFrom,
  run,
  twoJoinedNamespaces,
} from "../tests/interop/helpers/lab.ts";

const NEBULA_PORT = 4242;

/** Why the Nebula column cannot run here, or null. */
export function nebulaSkipReason(): string | null {
  for (const tool of ["/usr/bin/nebula", "/usr/bin/nebula-cert"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} is missing (apt install nebula)`;
    }
  }
  return null;
}

/** One side: what the throughput bench reads. */
export interface NebulaSide {
  namespace: string;
  meshIpv4: string;
  /** Nebula's TUN interface on that side. */
  interfaceName: string;
  /** That side's nebula process. */
  process: { pid: number };
}

/** Two namespaces joined by Nebula. */
export class NebulaLab {
  readonly sides: NebulaSide[] = [];
  private readonly processes: NamespaceProcess[] = [];
  private readonly namespaces: string[] = [];
  private directory = "";
  private readonly tag = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");

  /** Builds both sides and waits until each has its tun device up. */
  static async create(): Promise<NebulaLab> {
    const lab = new NebulaLab();
    try {
      await lab.build();
    } catch (error) {
      await lab.dispose();
      throw error;
    }
    return lab;
  }

  private async build(): Promise<void> {
    this.directory = await Deno.makeTempDir({ prefix: "meshguard-nebula-" });
    const dir = this.directory;
    await run(
      "nebula-cert",
      "ca",
      "-name",
      "meshguard bench",
      "-out-crt",
      `${dir}/ca.crt`,
      "-out-key",
      `${dir}/ca.key`,
    );
    const names = await twoJoinedNamespaces("mgn", "n", this.tag, this.namespaces);
    for (let i = 0; i < 2; i++) {
      const host = `host${i}`;
      await run(
        "nebula-cert",
        "sign",
        "-name",
        host,
        "-ip",
        `10.99.0.${i + 1}/16`,
        "-ca-crt",
        `${dir}/ca.crt`,
        "-ca-key",
        `${dir}/ca.key`,
        "-out-crt",
        `${dir}/${host}.crt`,
        "-out-key",
        `${dir}/${host}.key`,
      );
      const other = 1 - i;
      const config = [
        "pki:",
        `  ca: ${dir}/ca.crt`,
        `  cert: ${dir}/${host}.crt`,
        `  key: ${dir}/${host}.key`,
        "static_host_map:",
        `  "10.99.0.${other + 1}": ["192.0.2.${other + 1}:${NEBULA_PORT}"]`,
        "lighthouse:",
        "  am_lighthouse: false",
        "listen:",
        "  host: 0.0.0.0",
        `  port: ${NEBULA_PORT}`,
        "punchy:",
        "  punch: false",
        "tun:",
        `  dev: neb${this.tag}${i}`,
        "  mtu: 1420",
        "logging:",
        "  level: info",
        "firewall:",
        "  outbound:",
        "    - port: any",
        "      proto: any",
        "      host: any",
        "  inbound:",
        "    - port: any",
        "      proto: any",
        "      host: any",
        "",
      ].join("\n");
      await Deno.writeTextFile(`${dir}/${host}.yml`, config);
      const process = new NamespaceProcess(names[i], ["nebula", "-config", `${dir}/${host}.yml`]);
      this.processes.push(process);
      // Nebula logs its tun device once it is configured.
      await process.waitFor(/Nebula interface is active/);
      this.sides.push({
        namespace: names[i],
        meshIpv4: `10.99.0.${i + 1}`,
        interfaceName: `neb${this.tag}${i}`,
        process,
      });
    }
  }

  /** Pings from side `i` to `address` (the first one makes the Nebula handshake). */
  ping(i: number, address: string, count = 3): Promise<string> {
    return pingFrom(this.sides[i].namespace, address, count);
  }

  /** Stops both nebula processes by PID, deletes the namespaces and the certificates. */
  async dispose(): Promise<void> {
    for (const process of this.processes) await process.stop();
    for (const name of this.namespaces) await run("ip", "netns", "del", name).catch(() => {});
    if (this.directory) await Deno.remove(this.directory, { recursive: true }).catch(() => {});
  }
}
