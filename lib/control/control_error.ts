/** The control protocol's error: a refused request or an answer that does not parse. */

import { MeshguardError } from "../errors.ts";

/** A control exchange failed (bad answer, refused request). */
export class ControlError extends MeshguardError {}
