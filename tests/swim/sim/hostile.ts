/**
 * The hostile sender of the simulator: forges, replays and floods. As an *insider* (its key
 * trusted) it can build correctly encrypted datagrams carrying whatever items it likes; as an
 * outsider it can only send bytes. Everything goes through the fake network from its own
 * address, like any host.
 */

import { HEADER_BYTES, MessageType } from "../../../lib/swim/constants.ts";
import { associatedData, sealDatagram } from "../../../lib/swim/datagram.ts";
import { readHeader } from "../../../lib/swim/header.ts";
import { decodeBody, encodeBody, type SwimBody } from "../../../lib/swim/message_body.ts";
import type { SwimCrypto } from "../../../lib/swim/swim_crypto.ts";
import type { Cluster } from "./cluster.ts";

/** A hostile host on the simulated network. */
export class Hostile {
  /** Its address. */
  readonly address = "192.0.2.66:51821";
  /** Its crypto (its identity may or may not be trusted by the cluster). */
  readonly crypto: SwimCrypto;
  /** Boot epoch it claims. */
  epoch = 1;
  /** Datagrams that reached it (nodes answer it when it is an insider). */
  readonly received: Uint8Array[] = [];
  /** Ack every Ping it receives, as a live member would (off: it never proves its address). */
  answerPings = false;
  readonly #cluster: Cluster;
  readonly #counters = new Map<number, number>();

  constructor(cluster: Cluster, crypto: SwimCrypto) {
    this.#cluster = cluster;
    this.crypto = crypto;
    cluster.net.bind(this.address, (from, data) => {
      this.received.push(data);
      if (!this.answerPings || data[0] !== MessageType.Ping) return;
      const index = cluster.indexOf(from);
      const body = index === undefined ? null : this.open(index, data);
      if (body !== null) this.raw(index!, this.datagram(index!, MessageType.Ack, [], body.seq));
    });
  }

  /** Decrypts a datagram node `index` sent us (it can: it is an insider), or null. */
  open(index: number, data: Uint8Array): SwimBody | null {
    const node = this.#cluster.nodes[index];
    const header = readHeader(data);
    const shared = this.crypto.sharedSecret(node.publicKey)!;
    const key = this.crypto.sessionKey(
      shared,
      node.publicKey,
      this.crypto.publicKey,
      header.senderEpoch,
      this.epoch,
    );
    const aad = associatedData(data, this.crypto.publicKey);
    const plain = this.crypto.open(key, header.counter, aad, data.subarray(HEADER_BYTES));
    return plain === null ? null : decodeBody(header.type, plain);
  }

  /** Sends raw bytes to node `index`, from our address or a spoofed `from`. */
  raw(index: number, data: Uint8Array, from = this.address): void {
    this.#cluster.net.send(from, this.#cluster.nodes[index].address, data);
  }

  /** Builds a properly encrypted datagram from us to node `index` (works only if trusted). */
  datagram(
    index: number,
    type: number,
    items: Uint8Array[],
    seq = 0,
    target: Uint8Array | null = null,
  ): Uint8Array {
    const node = this.#cluster.nodes[index];
    const engine = node.engine!;
    const shared = this.crypto.sharedSecret(node.publicKey)!;
    const key = this.crypto.sessionKey(
      shared,
      this.crypto.publicKey,
      node.publicKey,
      this.epoch,
      engine.epoch,
    );
    const counter = this.#counters.get(index) ?? 0;
    this.#counters.set(index, counter + 1);
    const body = encodeBody(type, seq, 0, target, items);
    return sealDatagram(
      this.crypto,
      key,
      type,
      this.epoch,
      engine.epoch,
      counter,
      node.publicKey,
      body,
    );
  }

  /** Gossips `items` to node `index` in a correctly encrypted datagram. */
  gossip(index: number, items: Uint8Array[]): void {
    this.raw(index, this.datagram(index, MessageType.Gossip, items));
  }
}
