/**
 * The mesh resolver's protocol core, sans-IO: one query's bytes, its source, the transport and
 * `now` in; the response's bytes (or null: dropped) out. Authoritative for `mesh` and the mesh
 * reverse zones, never recursive: A/AAAA for held names, PTR for the mesh ranges, NXDOMAIN for
 * unknown mesh names, REFUSED for anything else. Responses are bounded (512 bytes over UDP, or
 * the client's EDNS size up to 1,232; past it only the header and question go out with TC set)
 * and each source address is rate limited. Only sources inside the mesh ranges are answered: the
 * kernel accepts a packet for a mesh address on any interface (weak host model), so a spoofed
 * query from the underlay must not turn this into a reflector or tell outsiders the member list;
 * a mesh source came through its WireGuard tunnel (inner source checked) or from this host.
 * Messages are decoded by `npm:dns-packet`; anything it cannot decode, or that is not one plain
 * query, gets a header-only error or nothing.
 */

import { Buffer } from "node:buffer";
// @ts-types="./dns_packet.d.ts"
import * as packet from "dns-packet";
import { formatIpAddress } from "../net/ip_address.ts";
import { SourceRateLimiter } from "../device/source_rate_limiter.ts";
import {
  type DnsTable,
  isMeshZoneName,
  MESH_IPV4_REVERSE_ZONE,
  MESH_IPV6_REVERSE_ZONE,
} from "./dns_table.ts";

/** How long resolvers may cache an answer (s): trust changes show within a minute. */
export const DNS_TTL = 60;
/** The classic UDP response limit when the query carries no EDNS size (RFC 1035). */
export const DNS_UDP_LIMIT = 512;
/** The most we send over UDP whatever EDNS asks (the DNS flag day 2020 size: no fragments). */
export const DNS_EDNS_LIMIT = 1232;
/** Largest query read (a TCP message may not be longer than its 16-bit length anyway). */
export const DNS_MAX_QUERY = 4096;

/** Response codes used here (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

const HEADER = 12;
const OPCODE_MASK = 0x7800;
const SAFE_LABEL = /^[A-Za-z0-9_-]{1,63}$/;

/** The responder's limits. */
export interface DnsResponderOptions {
  /** Queries per second each source address may send (default 100). */
  ratePerSecond?: number;
  /** Queries a quiet source may send at once (default 200). */
  burst?: number;
  /** Hash seed of the rate limiter (tests). */
  seed?: number;
}

/** What happened to queries so far. */
export interface DnsCounters {
  answered: number;
  /** Dropped by the per-source rate limit. */
  limited: number;
  /** Dropped: the source is outside the mesh ranges. */
  foreign: number;
  /** Not a query we could read (answered with a header-only error, or dropped). */
  malformed: number;
  truncated: number;
}

/** Answers mesh DNS queries from a `DnsTable`. */
export class DnsResponder {
  readonly #limiter: SourceRateLimiter;
  /** Counters since start. */
  readonly counters: DnsCounters = {
    answered: 0,
    limited: 0,
    foreign: 0,
    malformed: 0,
    truncated: 0,
  };

  /** A responder with the given rate limits. */
  constructor(options: DnsResponderOptions = {}) {
    this.#limiter = new SourceRateLimiter({
      buckets: 1024,
      ratePerSecond: options.ratePerSecond ?? 100,
      burst: options.burst ?? 200,
      seed: options.seed,
    });
  }

  /**
   * The response to `query` from `source` (4 or 16 bytes) at `now` (ms), or null when nothing
   * should be sent (a source outside the mesh, rate limited, too short to answer, or itself a
   * response). Never throws.
   */
  answer(
    query: Uint8Array,
    source: Uint8Array,
    transport: "udp" | "tcp",
    table: DnsTable,
    now: number,
  ): Uint8Array | null {
    if (!isMeshSource(source)) {
      this.counters.foreign++;
      return null;
    }
    if (!this.#limiter.allow(source, now)) {
      this.counters.limited++;
      return null;
    }
    // Too short for a header, or a response (answering responses could loop two servers).
    if (query.length < HEADER || query.length > DNS_MAX_QUERY || (query[2] & 0x80) !== 0) {
      this.counters.malformed++;
      return null;
    }
    const response = respond(query, transport, table);
    if (response.malformed) this.counters.malformed++;
    else this.counters.answered++;
    if (response.truncated) this.counters.truncated++;
    return response.bytes;
  }
}

interface Response {
  bytes: Uint8Array;
  malformed: boolean;
  truncated: boolean;
}

function respond(query: Uint8Array, transport: "udp" | "tcp", table: DnsTable): Response {
  const view = new DataView(query.buffer, query.byteOffset, query.byteLength);
  const flags = view.getUint16(2);
  const opcode = flags & OPCODE_MASK;
  if (opcode !== 0) return bare(query, RCODE.NOTIMP, false);
  if (view.getUint16(4) !== 1 || view.getUint16(6) !== 0 || view.getUint16(8) !== 0) {
    return bare(query, RCODE.FORMERR, true);
  }
  let decoded: packet.DecodedPacket;
  try {
    decoded = packet.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
  } catch {
    return bare(query, RCODE.FORMERR, true);
  }
  const question = decoded.questions?.[0];
  if (question === undefined || !isSafeName(question.name)) {
    return bare(query, RCODE.FORMERR, true);
  }
  const opt = (decoded.additionals ?? []).find((record) => record.type === "OPT");
  const limit = transport === "tcp"
    ? 65535
    : opt === undefined
    ? DNS_UDP_LIMIT
    : Math.min(DNS_EDNS_LIMIT, Math.max(DNS_UDP_LIMIT, opt.udpPayloadSize ?? 0));
  const name = question.name.toLowerCase().replace(/\.$/, "");
  const { rcode, answers, authoritative } = lookup(name, question, table);
  const reply: packet.Packet = {
    type: "response",
    id: view.getUint16(0),
    flags: (flags & packet.RECURSION_DESIRED) | (authoritative ? packet.AUTHORITATIVE_ANSWER : 0) |
      rcode,
    questions: [question],
    answers,
    additionals: opt === undefined ? [] : [{
      type: "OPT",
      name: ".",
      udpPayloadSize: DNS_EDNS_LIMIT,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    }],
  };
  let bytes: Uint8Array;
  try {
    bytes = packet.encode(reply);
  } catch {
    return bare(query, RCODE.SERVFAIL, false);
  }
  if (bytes.length <= limit) return { bytes, malformed: false, truncated: false };
  reply.flags = (reply.flags ?? 0) | packet.TRUNCATED_RESPONSE;
  reply.answers = [];
  return { bytes: packet.encode(reply), malformed: false, truncated: true };
}

function lookup(
  name: string,
  question: packet.Question,
  table: DnsTable,
): { rcode: number; answers: packet.Answer[]; authoritative: boolean } {
  if (question.class !== "IN" || !isMeshZoneName(name)) {
    return { rcode: RCODE.REFUSED, answers: [], authoritative: false };
  }
  const answers: packet.Answer[] = [];
  const type = question.type;
  const record = { name: question.name, ttl: DNS_TTL, class: "IN" };
  if (name.endsWith(".arpa")) {
    const target = table.pointer(name);
    if (target !== undefined) {
      if (type === "PTR" || type === "ANY") answers.push({ ...record, type: "PTR", data: target });
      return { rcode: RCODE.NOERROR, answers, authoritative: true };
    }
    // The zone apexes exist (NODATA); every other name in them is unknown.
    const apex = name === MESH_IPV4_REVERSE_ZONE || name === MESH_IPV6_REVERSE_ZONE;
    return { rcode: apex ? RCODE.NOERROR : RCODE.NXDOMAIN, answers, authoritative: true };
  }
  const host = table.host(name);
  if (host !== undefined) {
    if ((type === "A" || type === "ANY") && host.ipv4 !== null) {
      answers.push({ ...record, type: "A", data: formatIpAddress(host.ipv4) });
    }
    if (type === "AAAA" || type === "ANY") {
      answers.push({ ...record, type: "AAAA", data: formatIpAddress(host.ipv6) });
    }
    return { rcode: RCODE.NOERROR, answers, authoritative: true };
  }
  return {
    rcode: table.exists(name) ? RCODE.NOERROR : RCODE.NXDOMAIN,
    answers,
    authoritative: true,
  };
}

/** True for 10.99.0.0/16 and fd99:6d67::/64 (the mesh ranges; this host's own mesh addresses too). */
export function isMeshSource(source: Uint8Array): boolean {
  if (source.length === 4) return source[0] === 10 && source[1] === 99;
  if (source.length !== 16) return false;
  for (let i = 0; i < 8; i++) if (source[i] !== MESH_V6_PREFIX[i]) return false;
  return true;
}

const MESH_V6_PREFIX = [0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0];

/** True when every label is plain ASCII the encoder writes back byte for byte. */
function isSafeName(name: string): boolean {
  if (name === "." || name === "") return true;
  const labels = name.replace(/\.$/, "").split(".");
  return name.length <= 253 && labels.every((label) => SAFE_LABEL.test(label));
}

/** A header-only answer (no question echoed: it could not be read) with `rcode`. */
function bare(query: Uint8Array, rcode: number, malformed: boolean): Response {
  const bytes = new Uint8Array(HEADER);
  bytes[0] = query[0];
  bytes[1] = query[1];
  // QR, the query's opcode and RD; no counts.
  bytes[2] = 0x80 | (query[2] & 0x79);
  bytes[3] = rcode;
  return { bytes, malformed, truncated: false };
}
