/**
 * The part of `npm:dns-packet` (5.6.1) this project uses, typed here: the package ships no
 * types, and `@types/dns-packet` drags in `@types/node`, whose `node:assert` and friends clash
 * with Deno's own node types.
 */

import type { Buffer } from "node:buffer";

/** One question. `type` and `class` are mnemonics ("A", "AAAA", "PTR", "ANY"; "IN"). */
export interface Question {
  name: string;
  type: string;
  class?: string;
}

/** A resource record; `data` is the address text for A/AAAA and the target name for PTR. */
export interface Answer {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
  /** OPT only. */
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flags?: number;
  flag_do?: boolean;
  options?: unknown[];
}

/** A message to encode. `flags` holds the opcode, the flag bits and the rcode. */
export interface Packet {
  type?: "query" | "response";
  id?: number;
  flags?: number;
  questions?: Question[];
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
}

/** A decoded message with its header fields spelled out. */
export interface DecodedPacket extends Packet {
  opcode: string;
  rcode: string;
  flag_qr: boolean;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_ad: boolean;
  flag_cd: boolean;
}

/** Header flag bits. */
export const AUTHORITATIVE_ANSWER: number;
export const TRUNCATED_RESPONSE: number;
export const RECURSION_DESIRED: number;
export const RECURSION_AVAILABLE: number;

/** Encodes a message (throws on what it cannot write). */
export function encode(packet: Packet, buf?: Buffer, offset?: number): Buffer;
/** Decodes a message (throws on malformed input). */
export function decode(buf: Buffer, offset?: number): DecodedPacket;
