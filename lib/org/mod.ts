/** The org barrel: certificates, delegation, control messages, admission state, files. */

export {
  CERT_FLAG_DELEGATED,
  CERT_V1_BYTES,
  CERT_V2_BYTES,
  type CertificateFields,
  certificateFileBytes,
  decodeCertificate,
  type DelegationFields,
  isDelegated,
  type NodeCertificate,
  signCertificate,
  signDelegatedCertificate,
} from "./certificate.ts";
export { decodeGrant, encodeGrant, GRANT_BYTES, signGrant, verifyGrant } from "./delegation.ts";
export {
  decodeOrgControl,
  decodeOrgControlFile,
  type OrgControl,
  reasonName,
  RevokeReason,
  signOrgControl,
  verifyOrgControl,
} from "./org_messages.ts";
export {
  type CertificateContext,
  type CertificateProblem,
  certificateProblem,
  PROBLEM_TEXT,
} from "./certificate_check.ts";
export {
  type AdmissionProblem,
  type CertificateName,
  certificateName,
  type ControlOutcome,
  OrgTrust,
} from "./org_trust.ts";
export { loadNodeCertificate, loadOrgControls, saveOrgControl } from "./org_files.ts";
export { loadOrgKey, saveOrgKey } from "./org_key_store.ts";
export { formatUnix, parseExpiry } from "./expiry.ts";
export { OrgFormatError } from "./org_errors.ts";
