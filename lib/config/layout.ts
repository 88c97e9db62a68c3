/** Names of the files and folders inside the config directory (as the original meshguard). */

/** The node's secret key: base64 seed ‖ public key, mode 0600. */
export const IDENTITY_KEY_FILE = "identity.key";
/** The node's public key, base64. */
export const IDENTITY_PUBLIC_FILE = "identity.pub";
/** Folder of individually trusted peers, one `<name>.pub` each. */
export const AUTHORIZED_KEYS_DIR = "authorized_keys";
/** Folder of trusted org keys, one `<name>.org` each. */
export const TRUSTED_ORGS_DIR = "trusted_orgs";

/** File mode of secret files. */
export const SECRET_FILE_MODE = 0o600;
/** File mode of public files. */
export const PUBLIC_FILE_MODE = 0o644;
/** Mode of the config directory and its folders. */
export const CONFIG_DIR_MODE = 0o700;
