/**
 * What a mesh node says about membership events: every one at debug level, the node's own
 * (connected, isolated, incarnation exhausted) at info, warn or error; and which member, if
 * any, an event changes (the peer table follows it).
 */

import { encodeBase64 } from "../encoding/base64.ts";
import type { Logger } from "../log/logger.ts";
import type { MemberInfo, SwimEvent } from "../swim/events.ts";

/** Logs `event`; returns the member it changes, or null for an event about this node itself. */
export function logMembershipEvent(event: SwimEvent, log: Logger): MemberInfo | null {
  if (log.enabled("debug")) {
    const who = "member" in event ? ` ${encodeBase64(event.member.publicKey)}` : "";
    log.debug(`membership event ${event.type}${who}`);
  }
  switch (event.type) {
    case "connected":
      log.info("connected to the mesh");
      return null;
    case "isolated":
      log.warn("no live member left; retrying the seeds");
      return null;
    case "incarnation-exhausted":
      log.error(
        "membership incarnation exhausted: this node can no longer refute accusations; restart meshguard to take a new epoch",
      );
      return null;
    default:
      return event.member;
  }
}
