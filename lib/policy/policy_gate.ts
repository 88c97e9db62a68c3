/**
 * A data worker's policy check on its packets, in wasm memory and without allocation:
 * `admitInbound` on every decrypted packet (ICMP passes; a later fragment follows its first
 * fragment; otherwise the table's verdict, and a deny still passes when the packet is a reply
 * to a flow this node opened), and `noteOutbound` on every packet read from the TUN (records
 * the flows this node opens). Both return at once while the table cannot drop anything.
 */

import { type FlowTable, KIND_FLOW, KIND_FRAGMENT } from "./flow_table.ts";
import {
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_ICMPV6,
  PacketClass,
  TCP_ACK,
  TCP_SYN,
} from "./packet_classifier.ts";
import type { PolicyTable } from "./policy_table.ts";

/** How long an idle TCP flow this node opened keeps its replies admitted (seconds). */
export const TCP_FLOW_SECONDS = 3600;
/** How long an idle UDP flow keeps its replies admitted (conntrack's "assured" 120 s). */
export const UDP_FLOW_SECONDS = 120;
/** How long the later fragments of an admitted first fragment are let in (reassembly's 30 s). */
export const FRAGMENT_SECONDS = 30;
/** An entry is refreshed only when it would expire sooner than this: no write per packet. */
const REFRESH_SLACK_SECONDS = 10;

/** Why the gate let packets through or not, counted per gate (worker). */
export interface PolicyGateStats {
  /** Denied packets let in as replies to flows this node opened. */
  replies: number;
  /** Later fragments let in after their first fragment. */
  fragments: number;
  /** Packets dropped. */
  dropped: number;
}

/** One worker's view of the shared policy and flow tables. */
export class PolicyGate {
  readonly stats: PolicyGateStats = { replies: 0, fragments: 0, dropped: 0 };
  private readonly packet = new PacketClass();

  constructor(readonly table: PolicyTable, readonly flows: FlowTable) {}

  /**
   * True when the decrypted packet of `length` bytes at `at`, from device peer `peer`, may be
   * delivered. Drops are counted against the rule (or default) that decided them.
   */
  admitInbound(peer: number, bytes: Uint8Array, at: number, length: number, now: number): boolean {
    if (!this.table.enforcing) return true;
    const packet = this.packet;
    if (!packet.classify(bytes, at, length)) {
      const verdict = this.table.decide(peer, -1, -1);
      return (verdict & 1) === 1 || this.drop(verdict);
    }
    const protocol = packet.protocol;
    if (protocol === IP_PROTOCOL_ICMP || protocol === IP_PROTOCOL_ICMPV6) return true;
    const seconds = Math.floor(now / 1000);
    const flows = this.flows;
    if (packet.fragment === 2) {
      const meta = (KIND_FRAGMENT << 8) | protocol;
      if (
        flows.find(
          meta,
          packet.fragmentId,
          bytes,
          packet.sourceAt,
          packet.addressLength,
          seconds,
        ) >=
          0
      ) {
        this.stats.fragments++;
        return true;
      }
      const verdict = this.table.decide(peer, protocol, -1);
      return (verdict & 1) === 1 || this.drop(verdict);
    }
    const verdict = this.table.decide(peer, protocol, packet.destinationPort);
    let admitted = (verdict & 1) === 1;
    if (!admitted && packet.destinationPort >= 0) {
      // A reply: the flow we opened has our port as local and theirs as remote.
      const ports = (packet.destinationPort << 16) | packet.sourcePort;
      const entry = flows.find(
        (KIND_FLOW << 8) | protocol,
        ports,
        bytes,
        packet.sourceAt,
        packet.addressLength,
        seconds,
      );
      if (entry >= 0) {
        this.stats.replies++;
        admitted = true;
      }
    }
    if (!admitted) return this.drop(verdict);
    if (packet.fragment === 1) {
      flows.insert(
        (KIND_FRAGMENT << 8) | protocol,
        packet.fragmentId,
        bytes,
        packet.sourceAt,
        packet.addressLength,
        seconds,
        seconds + FRAGMENT_SECONDS,
      );
    }
    return true;
  }

  /**
   * Records the flow of the packet of `length` bytes at `at` that this node sends: a TCP SYN
   * (without ACK) opens one, any UDP packet opens or refreshes one, later TCP packets refresh.
   */
  noteOutbound(bytes: Uint8Array, at: number, length: number, now: number): void {
    if (!this.table.enforcing) return;
    const packet = this.packet;
    if (!packet.classify(bytes, at, length) || packet.destinationPort < 0) return;
    const protocol = packet.protocol;
    const seconds = Math.floor(now / 1000);
    const meta = (KIND_FLOW << 8) | protocol;
    const ports = (packet.sourcePort << 16) | packet.destinationPort;
    const flows = this.flows;
    if (protocol !== 6 && protocol !== 17) return;
    const tcp = protocol === 6;
    const expires = seconds + (tcp ? TCP_FLOW_SECONDS : UDP_FLOW_SECONDS);
    const destination = packet.destinationAt;
    const addressLength = packet.addressLength;
    // A TCP SYN opens a flow; UDP opens one on any packet; otherwise only a known flow refreshes.
    const opening = tcp && (packet.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const entry = opening
      ? -1
      : flows.find(meta, ports, bytes, destination, addressLength, seconds);
    if (entry < 0) {
      if (opening || !tcp) {
        flows.insert(meta, ports, bytes, destination, addressLength, seconds, expires);
      }
    } else if (flows.expiresAt(entry) < expires - REFRESH_SLACK_SECONDS) {
      flows.refresh(entry, expires);
    }
  }

  private drop(verdict: number): false {
    this.table.countDrop(verdict);
    this.stats.dropped++;
    return false;
  }
}
