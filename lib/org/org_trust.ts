/**
 * A node's org trust, sans-IO: the trusted org keys, each org's latest decision (revoke or
 * vouch) about each node key, and the certificates that admitted their nodes. Membership asks
 * it before any state change; the daemon feeds it files and gossip and, when a decision or the
 * clock takes someone's admission away, revalidates membership and the device at once.
 *
 * Ordering: per (org, node) the decision with the highest lamport wins; at equal lamports a
 * revocation beats a vouch. So an old message (replayed, or gossiped late) never undoes a
 * newer one, whichever order they arrive in.
 */

import { encodeHex } from "../encoding/base64.ts";
import { orgDomain } from "../identity/org_domain.ts";
import { decodeCertificate, isDelegated, type NodeCertificate } from "./certificate.ts";
import {
  type CertificateContext,
  type CertificateProblem,
  certificateProblem,
  cheapCertificateProblem,
  withinValidity,
} from "./certificate_check.ts";
import { type OrgControl, verifyOrgControl } from "./org_messages.ts";
import { OrgFormatError } from "./org_errors.ts";

/** What became of an org control message handed to `applyControl`. */
export type ControlOutcome =
  | "applied"
  | "stale"
  | "untrusted-org"
  | "bad-signature"
  | "rate-limited";

/** Why a presented certificate was refused: a check's problem, or it did not decode. */
export type AdmissionProblem = CertificateProblem | "malformed";

/** A member's name from its certificate: `<name>.<orgDomain>.mesh`. */
export interface CertificateName {
  /** The certificate's node name (a DNS label). */
  name: string;
  /** The org's six-hex-character domain. */
  orgDomain: string;
  /** `<name>.<orgDomain>.mesh`. */
  fqdn: string;
}

/** The most decisions kept (per org and node); beyond it the oldest are dropped. */
const MAX_DECISIONS = 65_536;

/** The org half of a node's trust. */
export class OrgTrust {
  readonly #clock: () => number;
  #orgs = new Map<string, Uint8Array>();
  readonly #decisions = new Map<string, OrgControl>();
  readonly #admitted = new Map<string, NodeCertificate>();
  readonly #context: CertificateContext;
  /** Unix seconds of the last `takeExpired`. */
  #expiryCheckedAt = 0;
  #version = 0;

  /** `clock` gives unix seconds (the daemon: wall time; tests: fake). */
  constructor(clock: () => number) {
    this.#clock = clock;
    this.#context = {
      now: 0,
      isTrustedOrg: (key) => this.#orgs.has(encodeHex(key)),
      isRevoked: (org, node) => this.isRevoked(org, node),
    };
  }

  /** Replaces the trusted org keys (`trusted_orgs/`). */
  setTrustedOrgs(keys: Iterable<Uint8Array>): void {
    const next = new Map<string, Uint8Array>();
    for (const key of keys) next.set(encodeHex(key), key.slice());
    this.#orgs = next;
    this.#version++;
  }

  /**
   * Grows whenever who is admitted by which org may have changed (orgs, decisions, certificates
   * held, an expiry): what is built from `admittedMembers` is stale once it moved.
   */
  get version(): number {
    return this.#version;
  }

  /** Every member a certificate admits right now, with the org that signed it. */
  *admittedMembers(): Generator<{ nodeKey: Uint8Array; orgKey: Uint8Array }> {
    for (const cert of this.#admitted.values()) {
      if (this.#stillAdmits(cert)) yield { nodeKey: cert.nodeKey, orgKey: cert.orgKey };
    }
  }

  /** True when at least one org is trusted. */
  get trustsAnyOrg(): boolean {
    return this.#orgs.size > 0;
  }

  /** How many orgs are trusted. */
  get orgCount(): number {
    return this.#orgs.size;
  }

  /** True when `orgKey` is a trusted org. */
  isTrustedOrg(orgKey: Uint8Array): boolean {
    return this.#orgs.has(encodeHex(orgKey));
  }

  /**
   * Applies a revocation or vouch: only from a trusted org, only when newer than the org's
   * latest decision about that node, and only with a valid signature (checked last: a stale
   * message costs nothing). `mayVerify` (a rate limit) is asked before the signature check.
   */
  applyControl(message: OrgControl, mayVerify?: () => boolean): ControlOutcome {
    if (!this.isTrustedOrg(message.orgKey)) return "untrusted-org";
    const key = encodeHex(message.orgKey) + encodeHex(message.nodeKey);
    const held = this.#decisions.get(key);
    if (held !== undefined && !supersedes(message, held)) return "stale";
    if (mayVerify !== undefined && !mayVerify()) return "rate-limited";
    if (!verifyOrgControl(message)) return "bad-signature";
    this.#decisions.delete(key);
    if (this.#decisions.size >= MAX_DECISIONS) {
      this.#decisions.delete(this.#decisions.keys().next().value!);
    }
    this.#decisions.set(key, message);
    this.#version++;
    return "applied";
  }

  /** Every decision held (for gossip and persistence), trusted orgs' only. */
  controls(): OrgControl[] {
    return [...this.#decisions.values()].filter((message) => this.isTrustedOrg(message.orgKey));
  }

  /** True when the trusted org's latest decision about `nodeKey` is a revocation. */
  isRevoked(orgKey: Uint8Array, nodeKey: Uint8Array): boolean {
    if (!this.isTrustedOrg(orgKey)) return false;
    return this.#decisions.get(encodeHex(orgKey) + encodeHex(nodeKey))?.kind === "revoke";
  }

  /** True when some trusted org revoked `nodeKey` (as its latest decision). */
  isRevokedByAny(nodeKey: Uint8Array): boolean {
    const node = encodeHex(nodeKey);
    for (const org of this.#orgs.keys()) {
      if (this.#decisions.get(org + node)?.kind === "revoke") return true;
    }
    return false;
  }

  /** True when some trusted org's latest decision about `nodeKey` is a vouch. */
  isVouched(nodeKey: Uint8Array): boolean {
    const node = encodeHex(nodeKey);
    for (const org of this.#orgs.keys()) {
      if (this.#decisions.get(org + node)?.kind === "vouch") return true;
    }
    return false;
  }

  /**
   * True when `key` is admitted through an org right now: vouched for, or holding an admitted
   * certificate that is still valid and not revoked.
   */
  isAdmitted(key: Uint8Array): boolean {
    if (this.#orgs.size === 0) return false;
    if (this.isVouched(key)) return true;
    const cert = this.#admitted.get(encodeHex(key));
    return cert !== undefined && this.#stillAdmits(cert);
  }

  #stillAdmits(cert: NodeCertificate): boolean {
    if (!this.isTrustedOrg(cert.orgKey)) return false;
    if (!withinValidity(cert.expiresAt, this.#clock())) return false;
    if (this.isRevoked(cert.orgKey, cert.nodeKey)) return false;
    return !(isDelegated(cert) && this.isRevoked(cert.orgKey, cert.issuerKey!));
  }

  /** The checks of `certificate_check.ts` that cost no signature, for a stranger's first message. */
  precheck(presenter: Uint8Array, bytes: Uint8Array): AdmissionProblem | null {
    const cert = decodeOrNull(bytes);
    if (cert === null) return "malformed";
    this.#context.now = this.#clock();
    return cheapCertificateProblem(cert, this.#context, presenter);
  }

  /**
   * Checks the certificate `presenter` presents and, when it admits, remembers it (a newer one
   * replaces the one held). Returns the problem, or null when admitted.
   */
  admitCertificate(presenter: Uint8Array, bytes: Uint8Array): AdmissionProblem | null {
    const id = encodeHex(presenter);
    const held = this.#admitted.get(id);
    if (held !== undefined && sameBytes(held.bytes, bytes)) {
      return this.#stillAdmits(held) ? null : this.precheck(presenter, bytes);
    }
    const cert = decodeOrNull(bytes);
    if (cert === null) return "malformed";
    this.#context.now = this.#clock();
    const problem = certificateProblem(cert, this.#context, presenter);
    if (problem !== null) return problem;
    // An older certificate never replaces a newer one we hold for the same node.
    if (held === undefined || cert.issuedAt >= held.issuedAt || !this.#stillAdmits(held)) {
      this.#admitted.set(id, cert);
      this.#version++;
    }
    return null;
  }

  /** The certificate that admitted `key` (even if it no longer does), or undefined. */
  certificateOf(key: Uint8Array): NodeCertificate | undefined {
    return this.#admitted.get(encodeHex(key));
  }

  /**
   * True once when a held certificate expired since the last call (the caller revalidates
   * membership then): an expiry while running stops admitting at that moment.
   */
  takeExpired(): boolean {
    const now = this.#clock();
    const since = this.#expiryCheckedAt;
    this.#expiryCheckedAt = now;
    for (const cert of this.#admitted.values()) {
      if (cert.expiresAt !== 0 && cert.expiresAt > since && cert.expiresAt <= now) {
        this.#version++;
        return true;
      }
    }
    return false;
  }
}

/** A certificate's name under its org: `<name>.<orgDomain>.mesh`. */
export function certificateName(cert: NodeCertificate): CertificateName {
  const domain = orgDomain(cert.orgKey);
  return { name: cert.name, orgDomain: domain, fqdn: `${cert.name}.${domain}.mesh` };
}

function supersedes(next: OrgControl, held: OrgControl): boolean {
  if (next.lamport !== held.lamport) return next.lamport > held.lamport;
  return next.kind === "revoke" && held.kind === "vouch";
}

function decodeOrNull(bytes: Uint8Array): NodeCertificate | null {
  try {
    return decodeCertificate(bytes);
  } catch (error) {
    if (error instanceof OrgFormatError) return null;
    throw error;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
