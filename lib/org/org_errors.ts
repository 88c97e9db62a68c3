/** Typed errors of org certificates, delegation grants and org control messages. */

import { MeshguardError } from "../errors.ts";

/** A certificate, grant or org message is malformed, or fails a check; the message names which. */
export class OrgFormatError extends MeshguardError {}
