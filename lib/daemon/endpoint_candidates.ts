/**
 * The endpoint candidates a node puts in its self-signed membership record, from three sources:
 * addresses announced by the operator (`up --announce`: a forwarded or known public address),
 * reflexive addresses (what STUN saw our mesh socket's NAT mapping as) and interface addresses
 * (`local_endpoints.ts`). Peers probe all of them when they punch, so what is kept under the
 * record's bound matters more than the order; the order still matters before any contact (the
 * first candidate is where probes go until a datagram arrives).
 */

import { MAX_ENDPOINTS } from "../swim/constants.ts";
import { NatType, type NatTypeCode } from "../swim/records.ts";

/** Where candidates come from. */
export interface CandidateSources {
  /** `--announce` addresses, resolved to numeric `ip:port`. */
  announced: readonly string[];
  /** Interface addresses with the mesh port, IPv4 first. */
  local: readonly string[];
  /** Reflexive (STUN) addresses of the mesh socket. */
  reflexive: readonly string[];
}

/**
 * The advertised list, at most MAX_ENDPOINTS, duplicates removed: announced first (the
 * operator said so), then the first interface address (peers on our LAN reach us there
 * without any NAT), then reflexive ones (the way in through our NAT), then other interface
 * addresses.
 */
export function endpointCandidates(sources: CandidateSources): string[] {
  const ordered = [
    ...sources.announced,
    ...sources.local.slice(0, 1),
    ...sources.reflexive,
    ...sources.local.slice(1),
  ];
  return [...new Set(ordered)].slice(0, MAX_ENDPOINTS);
}

/** True when two candidate lists are the same (same order). */
export function sameCandidates(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** A node's candidate sources and what its record advertises from them. */
export class EndpointCandidates {
  #sources: CandidateSources;
  #advertised: string[];
  #nat: NatTypeCode;

  /** Candidates from the start-up sources (no reflexive address yet). */
  constructor(announced: readonly string[], local: readonly string[], nat?: NatTypeCode) {
    this.#sources = { announced: [...announced], local: [...local], reflexive: [] };
    this.#advertised = endpointCandidates(this.#sources);
    this.#nat = nat ?? NatType.Unknown;
  }

  /** What the record carries now. */
  get advertised(): readonly string[] {
    return this.#advertised;
  }

  /** Our NAT type as the record says it. */
  get nat(): NatTypeCode {
    return this.#nat;
  }

  /** New reflexive addresses (and NAT type, if known); true when the record must change. */
  setReflexive(endpoints: readonly string[], nat?: NatTypeCode): boolean {
    return this.#update({ ...this.#sources, reflexive: [...endpoints] }, nat ?? this.#nat);
  }

  /** New interface addresses; true when the record must change. */
  setLocal(endpoints: readonly string[]): boolean {
    return this.#update({ ...this.#sources, local: [...endpoints] }, this.#nat);
  }

  #update(sources: CandidateSources, nat: NatTypeCode): boolean {
    this.#sources = sources;
    const advertised = endpointCandidates(sources);
    if (sameCandidates(advertised, this.#advertised) && nat === this.#nat) return false;
    this.#advertised = advertised;
    this.#nat = nat;
    return true;
  }
}
