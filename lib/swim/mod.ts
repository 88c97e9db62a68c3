/** SWIM membership with Lifeguard: the sans-IO engine, its wire format and helpers. */

export { SwimEngine, trustKeys } from "./engine.ts";
export type { Outgoing, SwimEngineOptions, SwimStats, TrustPolicy } from "./engine.ts";
export type { MemberInfo, MemberState, SwimEvent } from "./events.ts";
export {
  type Address,
  DEFAULT_SWIM_PORT,
  formatAddress,
  parseSeed,
  type SeedSpec,
} from "./address.ts";
export {
  resolveSwimConfig,
  SWIM_PROFILES,
  type SwimConfig,
  type SwimProfileName,
} from "./profiles.ts";
export { NatType, type NatTypeCode } from "./records.ts";
export { createSwimCrypto, type SwimCrypto, type SwimSigner } from "./swim_crypto.ts";
export { SwimAddressError, SwimConfigError, SwimDecodeError } from "./swim_errors.ts";
export { classifiesAsStun, classifiesAsWireguard, isSwimDatagram } from "./header.ts";
export { MAX_DATAGRAM_BYTES, MessageType } from "./constants.ts";
