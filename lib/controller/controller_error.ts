/** The controller's typed errors: each carries the HTTP status its request is answered with. */

import { MeshguardError } from "../errors.ts";

/** A request the controller refuses; `status` is the 4xx it answers with, nothing was stored. */
export class ControllerRequestError extends MeshguardError {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
