/**
 * Typed errors. Every error a user can cause carries a message that says what to do about
 * it; the CLI prints `error: <message>` without a stack trace.
 */

/** Base class of every error meshguard raises on purpose; `exitCode` is what the CLI exits with. */
export class MeshguardError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command line was malformed: the CLI prints the command's usage and exits 2. */
export class UsageError extends MeshguardError {
  override readonly exitCode = 2;
  /** The command whose usage should be printed, if known. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A public key (peer, org) is malformed or unsafe to trust. */
export class InvalidKeyError extends MeshguardError {}

/** A peer or org name is not a valid DNS label. */
export class InvalidNameError extends MeshguardError {}

/** The identity key file is missing, corrupt, or has unsafe permissions. */
export class IdentityError extends MeshguardError {}

/** A trust-store operation cannot be done as asked (conflict, not found, own key). */
export class TrustError extends MeshguardError {}

/** The config directory cannot be resolved, created or used. */
export class ConfigError extends MeshguardError {}

/** The process lacks a Deno permission the command needs. */
export class PermissionError extends MeshguardError {}
