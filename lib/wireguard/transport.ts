/**
 * Transport messages (type 4): sealing an inner IP packet under a keypair, with WireGuard's
 * zero padding to a multiple of 16, and opening one back to the exact inner packet. This is
 * the reference path used by the in-process engine; the data plane does the same work in
 * place in wasm memory through the batch API.
 */

import {
  MESSAGE_DATA,
  MESSAGE_DATA_HEADER_SIZE,
  MESSAGE_MINIMUM_LENGTH,
  MESSAGE_PADDING_MULTIPLE,
} from "./constants.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";

const EMPTY = new Uint8Array(0);

/** Header fields of a transport message. */
export interface TransportHeader {
  receiverIndex: number;
  counter: bigint;
}

/** Reads the header of a transport message; null when it is not one. */
export function readTransportHeader(message: Uint8Array): TransportHeader | null {
  if (message.length < MESSAGE_MINIMUM_LENGTH) return null;
  const view = new DataView(message.buffer, message.byteOffset, message.length);
  if (view.getUint32(0, true) !== MESSAGE_DATA) return null;
  return { receiverIndex: view.getUint32(4, true), counter: view.getBigUint64(8, true) };
}

/** Length after padding `length` to the padding multiple, never beyond `mtu`. */
export function paddedLength(length: number, mtu: number): number {
  const padded = Math.ceil(length / MESSAGE_PADDING_MULTIPLE) * MESSAGE_PADDING_MULTIPLE;
  return Math.max(length, Math.min(padded, mtu));
}

/** Seals `packet` (empty for a keepalive) into a transport message. */
export function sealTransport(
  p: NoisePrimitives,
  sendKey: Uint8Array,
  receiverIndex: number,
  counter: bigint,
  packet: Uint8Array,
  mtu: number,
): Uint8Array {
  const plaintext = new Uint8Array(paddedLength(packet.length, mtu));
  plaintext.set(packet);
  const sealed = p.aeadSeal(sendKey, counter, plaintext, EMPTY);
  const message = new Uint8Array(MESSAGE_DATA_HEADER_SIZE + sealed.length);
  const view = new DataView(message.buffer);
  view.setUint32(0, MESSAGE_DATA, true);
  view.setUint32(4, receiverIndex, true);
  view.setBigUint64(8, counter, true);
  message.set(sealed, MESSAGE_DATA_HEADER_SIZE);
  return message;
}

/** The inner IP packet's real length, from its header; null when it is not IPv4/IPv6. */
export function innerPacketLength(plaintext: Uint8Array): number | null {
  return innerPacketLengthAt(plaintext, 0, plaintext.length);
}

/** Like innerPacketLength for a packet of up to `available` bytes at `offset` in `bytes`. */
export function innerPacketLengthAt(
  bytes: Uint8Array,
  offset: number,
  available: number,
): number | null {
  if (available === 0) return 0;
  const version = bytes[offset] >> 4;
  let length: number;
  if (version === 4 && available >= 20) length = (bytes[offset + 2] << 8) | bytes[offset + 3];
  else if (version === 6 && available >= 40) {
    length = ((bytes[offset + 4] << 8) | bytes[offset + 5]) + 40;
  } else return null;
  return length <= available ? length : null;
}

/** Bytes of the inner addresses of the packet at `offset`: 4 (IPv4), 16 (IPv6) or 0. */
export function innerAddressLength(bytes: Uint8Array, offset: number, available: number): number {
  const version = bytes[offset] >> 4;
  if (version === 4 && available >= 20) return 4;
  if (version === 6 && available >= 40) return 16;
  return 0;
}

/** Offset of the inner source address of the packet at `offset` (see innerAddressLength). */
export function innerSourceOffset(bytes: Uint8Array, offset: number): number {
  return offset + (bytes[offset] >> 4 === 4 ? 12 : 8);
}

/** Offset of the inner destination address of the packet at `offset`. */
export function innerDestinationOffset(bytes: Uint8Array, offset: number): number {
  return offset + (bytes[offset] >> 4 === 4 ? 16 : 24);
}

/**
 * Opens a transport message: the inner packet without padding (empty for a keepalive), or
 * null when it does not authenticate or its contents are not a well-formed IP packet.
 */
export function openTransport(
  p: NoisePrimitives,
  receiveKey: Uint8Array,
  message: Uint8Array,
): Uint8Array | null {
  const header = readTransportHeader(message);
  if (header === null) return null;
  const plaintext = p.aeadOpen(
    receiveKey,
    header.counter,
    message.subarray(MESSAGE_DATA_HEADER_SIZE),
    EMPTY,
  );
  if (plaintext === null) return null;
  const length = innerPacketLength(plaintext);
  return length === null ? null : plaintext.subarray(0, length);
}

/** The inner source address of an IPv4/IPv6 packet (for the allowed-IPs source check). */
export function innerSourceAddress(packet: Uint8Array): Uint8Array | null {
  const length = innerAddressLength(packet, 0, packet.length);
  const at = innerSourceOffset(packet, 0);
  return length === 0 ? null : packet.subarray(at, at + length);
}

/** The inner destination address of an IPv4/IPv6 packet (for outbound routing). */
export function innerDestinationAddress(packet: Uint8Array): Uint8Array | null {
  const length = innerAddressLength(packet, 0, packet.length);
  const at = innerDestinationOffset(packet, 0);
  return length === 0 ? null : packet.subarray(at, at + length);
}
