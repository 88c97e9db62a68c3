/**
 * meshguard's public library API: identity and its derivations, the trust store, orgs, config, the
 * CLI, the crypto core, SWIM membership, the WireGuard engine, data plane and UAPI, the device,
 * the daemon, the control client and the logger. Re-exports only; everything lives in lib/.
 * @module
 */

export * from "./lib/errors.ts";
export { VERSION } from "./lib/version.ts";
export {
  decodeIdentityKeyFile,
  encodeIdentityKeyFile,
  encodePublicKeyFile,
  generateIdentity,
  type Identity,
  identityFromSeed,
  signWithIdentity,
  wipeIdentity,
} from "./lib/identity/identity.ts";
export { identityKeyPath, loadIdentity, saveIdentity } from "./lib/identity/identity_store.ts";
export {
  assertValidEd25519PublicKey,
  type Ed25519KeyProblem,
  ed25519KeyProblem,
  formatPublicKey,
  parseEd25519PublicKey,
} from "./lib/identity/ed25519_public_key.ts";
export {
  formatIpv6,
  MESH_IPV4_PREFIX,
  MESH_IPV6_PREFIX,
  meshIpv4,
  meshIpv4Bytes,
  meshIpv6,
  meshIpv6Bytes,
} from "./lib/identity/mesh_address.ts";
export { orgDomain } from "./lib/identity/org_domain.ts";
export {
  deriveWireguardPrivateKey,
  deriveWireguardPublicKey,
  x25519PublicKey,
} from "./lib/identity/wireguard_key.ts";
export { assertDnsLabel, isDnsLabel } from "./lib/trust/dns_label.ts";
export {
  addTrusted,
  listTrusted,
  removeTrusted,
  type TrustedKey,
  type TrustKind,
  type TrustListing,
  type TrustOutcome,
  type TrustRequest,
} from "./lib/trust/trust_store.ts";
export { ensureDirectory, resolveConfigDir } from "./lib/config/config_dir.ts";
export { buildConfigReport, type ConfigReport } from "./lib/cli/config_report.ts";
export { runCli } from "./lib/cli/cli.ts";
export * from "./lib/crypto/mod.ts";
export * from "./lib/swim/mod.ts";
export * from "./lib/org/mod.ts";
export { WireguardEngine } from "./lib/wireguard/engine.ts";
export type {
  EngineHooks,
  EngineOptions,
  EngineSink,
  EngineStats,
} from "./lib/wireguard/engine_types.ts";
export {
  DataPlane,
  type DataPlaneEvents,
  type DataPlaneOptions,
  type RouteLookup,
} from "./lib/wireguard/data_plane.ts";
export { type DataPlaneDimensions, DataPlaneState } from "./lib/wireguard/data_plane_state.ts";
export { createNoisePrimitives, type NoisePrimitives } from "./lib/wireguard/noise_primitives.ts";
export { type Endpoint, formatEndpoint, parseEndpoint } from "./lib/wireguard/endpoint.ts";
export {
  applyDeviceConfig,
  type ConfigurableDevice,
  describeDevicePeers,
  type DeviceConfig,
  DeviceConfigError,
  type DeviceConfigFailure,
  type DeviceConfigResult,
  type DevicePeer,
  type PeerChange,
  type PeerRemoval,
  type PeerUpsert,
} from "./lib/wireguard/device_config.ts";
export {
  applyUapiSet,
  handleUapiRequest,
  parseUapiSet,
  renderUapiGet,
  UAPI_ERRNO,
  type UapiDevice,
  UapiError,
} from "./lib/wireguard/uapi.ts";
export { type DeviceOptions, UserspaceDevice } from "./lib/device/userspace_device.ts";
export { DaemonError, MeshDaemon, type MeshDaemonOptions } from "./lib/daemon/mesh_daemon.ts";
export { MeshPeers, type PeerChanges, type TrustedEntry } from "./lib/daemon/mesh_peers.ts";
export {
  type MeshDevice,
  MeshNode,
  MeshNodeError,
  type MeshNodeOptions,
  type MeshNodeStart,
} from "./lib/daemon/mesh_node.ts";
export { sendControlRequest } from "./lib/control/control_client.ts";
export type {
  ControlRequest,
  ControlResponse,
  DaemonStatus,
  NatStatus,
  NetcheckReport,
  PeerStatus,
} from "./lib/control/control_protocol.ts";
export { StunClient, type StunServerResult } from "./lib/stun/stun_client.ts";
export { type StunSetting } from "./lib/daemon/node_stun.ts";
export {
  encodeBindingRequest,
  parseStunResponse,
  writeBindingSuccess,
} from "./lib/stun/stun_message.ts";
export { classifyNatMapping, type MappingBehaviour } from "./lib/stun/nat_mapping.ts";
export { Logger, type LogLevel } from "./lib/log/logger.ts";
export { wireguardPublicKeyOf } from "./lib/identity/wireguard_key.ts";
export {
  type PolicyAction,
  type PolicyFile,
  type PolicyRule,
  type PolicySet,
} from "./lib/policy/policy_rules.ts";
export { parseDefaultText, parsePolicyText, PolicyError } from "./lib/policy/policy_parser.ts";
export { evaluatePolicy, type PolicyVerdict } from "./lib/policy/policy_evaluator.ts";
export { loadPolicySet } from "./lib/policy/policy_files.ts";
export { type DevicePolicy } from "./lib/policy/device_policy.ts";
export type { PolicyStatus } from "./lib/control/control_protocol.ts";
// The admission controller (issue 15).
export {
  ControllerCore,
  type ControllerOptions,
  type NodeConfig,
} from "./lib/controller/controller_core.ts";
export { createControllerHandler } from "./lib/controller/controller_http.ts";
export { type ControllerStore, MemoryControllerStore } from "./lib/controller/controller_store.ts";
export { SqliteControllerStore } from "./lib/controller/sqlite_store.ts";
export { DEFAULT_POLICY, evaluateMembership } from "./lib/controller/policy.ts";
export { canonicalReportBytes, parseReport } from "./lib/controller/benchmark_report.ts";
export { reportSigner, verifyReportSignature } from "./lib/controller/report_signature.ts";
export { readSigner } from "./lib/controller/request_auth.ts";
export { hkdfSha256, pairwisePsk } from "./lib/controller/pairwise_psk.ts";
export { type PeerFilter, PeerGate } from "./lib/controller/peer_gate.ts";
export { ControllerRequestError } from "./lib/controller/controller_error.ts";
