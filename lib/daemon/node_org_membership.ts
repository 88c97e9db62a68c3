/**
 * A node's org side, without I/O: the `OrgTrust` membership consults (certificates in records
 * and cookies), decisions from files and gossip (verified, rate-limited, gossiped on and
 * re-gossiped every 30 s), expiry while running, and the names certificates give. The node
 * (`mesh_node.ts`) owns one and revalidates membership and the device when it says so.
 */

import { constantTimeEqual } from "../encoding/constant_time.ts";
import { encodeBase64, encodeHex } from "../encoding/base64.ts";
import type { Logger } from "../log/logger.ts";
import { decodeCertificate } from "../org/certificate.ts";
import { PROBLEM_TEXT } from "../org/certificate_check.ts";
import { OrgFormatError } from "../org/org_errors.ts";
import { decodeOrgControl, type OrgControl } from "../org/org_messages.ts";
import { type CertificateName, certificateName, OrgTrust } from "../org/org_trust.ts";
import type { SwimEngine } from "../swim/engine.ts";
import type { TrustPolicy } from "../swim/trust_policy.ts";
import { TokenBucket } from "../swim/token_bucket.ts";

/** Known org decisions are gossiped again this often, so members that joined since hear them. */
const ORG_REGOSSIP_MS = 30_000;
/** At most this many decisions are re-gossiped per round (the newest). */
const ORG_REGOSSIP_MAX = 64;
/**
 * Signature checks of org decisions heard by gossip, per second (burst: twice that): a member
 * sending made-up decisions (new lamports, random keys) cannot make us verify without bound.
 * A real revocation storm of 1,000 keys still applies within ~5 s.
 */
const ORG_VERIFY_RATE = 200;

/** What the org side needs from its node. */
export interface OrgMembershipHost {
  log: Logger;
  /** Our Ed25519 key (our own name comes from our certificate). */
  publicKey: Uint8Array;
  /** Wall-clock ms: certificates expire in wall time. */
  wallClock: () => number;
  /** Membership, or null before start and after stop. */
  swim(): SwimEngine | null;
  /** Admission changed: drop whoever is no longer admitted, from membership and the device. */
  revalidate(now: number): void;
  /** A member's certificate admitted it (a renewal may rename it). */
  admitted(publicKey: Uint8Array): void;
  /** A decision heard by gossip was applied (the shell persists it). */
  heard?: (message: OrgControl) => void;
}

/** The org side of one node. */
export class OrgMembership {
  /** Trusted orgs, their decisions, the certificates that admitted members. */
  readonly trust: OrgTrust;
  readonly #host: OrgMembershipHost;
  readonly #verify = new TokenBucket(ORG_VERIFY_RATE, 2 * ORG_VERIFY_RATE);
  #regossipAt = 0;
  /** Our certificate as our record carries it (null: none). */
  certificate: Uint8Array | null = null;

  /** The org side for `host`. */
  constructor(host: OrgMembershipHost) {
    this.#host = host;
    this.trust = new OrgTrust(() => Math.floor(host.wallClock() / 1000));
  }

  /** The certificate hooks of membership's trust policy. */
  policy(): Required<Pick<TrustPolicy, "precheckCertificate" | "admitCertificate">> {
    const trust = this.trust;
    return {
      precheckCertificate: (key, _id, cert) =>
        trust.trustsAnyOrg && trust.precheck(key, cert) === null,
      admitCertificate: (key, _id, cert) => {
        const problem = trust.admitCertificate(key, cert);
        if (problem !== null) {
          if (this.#host.log.enabled("debug")) {
            const why = problem === "malformed" ? "malformed" : PROBLEM_TEXT[problem];
            this.#host.log.debug(`certificate of ${encodeBase64(key)} refused: ${why}`);
          }
          return false;
        }
        this.#host.admitted(key);
        return true;
      },
    };
  }

  /** Membership started at `now` (monotonic ms). */
  started(now: number): void {
    this.#regossipAt = now + ORG_REGOSSIP_MS;
  }

  /** Expiries (revalidate at once) and the periodic re-gossip. */
  tick(now: number): void {
    if (this.trust.takeExpired()) {
      this.#host.log.info("an org certificate expired");
      this.#host.revalidate(now);
    }
    if (now < this.#regossipAt) return;
    this.#regossipAt = now + ORG_REGOSSIP_MS;
    const controls = this.trust.controls().sort((a, b) => b.lamport - a.lamport);
    for (const control of controls.slice(0, ORG_REGOSSIP_MAX)) this.#gossip(control, now);
  }

  /** Replaces the trusted orgs and feeds decisions from files; then revalidates. */
  setOrgTrust(orgKeys: Uint8Array[], controls: OrgControl[], now: number): void {
    this.trust.setTrustedOrgs(orgKeys);
    this.apply(controls, now, false);
    this.#host.revalidate(now);
  }

  /**
   * Applies decisions (from files, or `heard` by gossip): each one a trusted org signed and
   * newer than what we hold is gossiped on; then admission is revalidated. Returns how many.
   */
  apply(controls: OrgControl[], now: number, heard: boolean): number {
    let applied = 0;
    const mayVerify = heard ? () => this.#verify.take(now) : undefined;
    for (const control of controls) {
      const outcome = this.trust.applyControl(control, mayVerify);
      if (outcome !== "applied") {
        if (outcome === "bad-signature") {
          this.#host.log.warn(`an org ${control.kind} with a bad signature was dropped`);
        }
        continue;
      }
      applied++;
      const what = control.kind === "revoke" ? "revoked" : "vouched for";
      this.#host.log.info(
        `org ${what} ${encodeBase64(control.nodeKey)}${heard ? " (gossip)" : ""}`,
      );
      if (heard) this.#host.heard?.(control);
      this.#gossip(control, now);
    }
    if (applied > 0) this.#host.revalidate(now);
    return applied;
  }

  /** Takes the decisions membership heard and applies the well-formed ones. */
  drainHeard(swim: SwimEngine, now: number): void {
    const heard = swim.drainOrgControls();
    if (heard.length === 0) return;
    const controls: OrgControl[] = [];
    for (const bytes of heard) {
      try {
        controls.push(decodeOrgControl(bytes));
      } catch (error) {
        if (!(error instanceof OrgFormatError)) throw error;
        this.#host.log.debug(`malformed org message dropped: ${error.message}`);
      }
    }
    this.apply(controls, now, true);
  }

  #gossip(control: OrgControl, now: number): void {
    const key = encodeHex(control.orgKey) + encodeHex(control.nodeKey);
    this.#host.swim()?.broadcastOrgControl(key, control.bytes, now);
  }

  /**
   * The name a certificate gives a member (`<name>.<org6>.mesh`; for our own key, our
   * `node.cert`), or null when it holds none.
   */
  nameOf(publicKey: Uint8Array): CertificateName | null {
    if (constantTimeEqual(publicKey, this.#host.publicKey)) {
      if (this.certificate === null) return null;
      try {
        return certificateName(decodeCertificate(this.certificate));
      } catch {
        return null;
      }
    }
    const cert = this.trust.certificateOf(publicKey);
    return cert === undefined ? null : certificateName(cert);
  }
}
