/** Names of the org files and folders inside the config directory (as the original meshguard). */

/** The org admin's folder: `org.key` (0600) and `org.pub`. */
export const ORG_DIR = "org";
/** The org's secret key file inside ORG_DIR: base64 seed ‖ public key, like `identity.key`. */
export const ORG_KEY_FILE = "org.key";
/** The org's public key file inside ORG_DIR. */
export const ORG_PUBLIC_FILE = "org.pub";
/** This node's certificate from its org. */
export const NODE_CERT_FILE = "node.cert";
/** Org revocations: `<hex16>.revoke` (CLI) or `<org6>-<hex16>.revoke` (received). */
export const REVOKED_DIR = "revoked";
/** Org vouches: `<hex16>.vouch` (CLI) or `<org6>-<hex16>.vouch` (received). */
export const VOUCHED_DIR = "vouched";
/** Delegation grants the org issued: `<hex16>.grant`. */
export const GRANTS_DIR = "grants";
/** Files of `revoked/` and `vouched/` loaded at most (the oldest names beyond are ignored). */
export const MAX_CONTROL_FILES = 4096;
