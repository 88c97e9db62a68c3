/**
 * The text of `services/` files to rules, strictly: every bad line is reported with its file and
 * line number, and a file with any bad line is refused as a whole (the daemon then keeps the
 * policy it had, so a typo never opens or closes more than the author meant).
 */

import { MeshguardError } from "../errors.ts";
import { POLICY_LIMITS, type PolicyAction, type PolicyRule } from "./policy_rules.ts";

/** A policy file or line that cannot be used; the message names `file:line`. */
export class PolicyError extends MeshguardError {}

/** One rule from its words (`allow tcp 80`), or a message saying what is wrong. */
export function parseRuleWords(
  words: readonly string[],
  source: string,
): PolicyRule | string {
  const [action, protocol, ports, ...rest] = words;
  if (action !== "allow" && action !== "deny") {
    return `expected 'allow' or 'deny', got '${action ?? ""}'`;
  }
  if (protocol === "all" && ports === undefined) {
    return { action, protocol: "all", low: 0, high: 65535, anyPort: true, source };
  }
  if (protocol !== "tcp" && protocol !== "udp" && protocol !== "all") {
    return `expected 'tcp', 'udp' or 'all' after '${action}', got '${protocol ?? ""}'`;
  }
  if (ports === undefined) return `'${action} ${protocol}' needs a port, a range lo-hi or 'all'`;
  if (rest.length > 0) return `unexpected '${rest.join(" ")}' after the ports`;
  if (ports === "all") return { action, protocol, low: 0, high: 65535, anyPort: true, source };
  const range = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
  if (range === null) return `bad port '${ports}': use a number 1-65535, a range lo-hi or 'all'`;
  const low = Number(range[1]);
  const high = range[2] === undefined ? low : Number(range[2]);
  if (low < 1 || high > 65535 || low > 65535) return `port '${ports}' is outside 1-65535`;
  if (low > high) return `range '${ports}' runs backwards`;
  return { action, protocol, low, high, anyPort: false, source };
}

/**
 * Parses one policy file (`name` is its path under `services/`, used in messages). Throws
 * PolicyError listing every bad line, or when the file is over the size or rule limit.
 */
export function parsePolicyText(text: string, name: string): PolicyRule[] {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > POLICY_LIMITS.fileBytes) {
    throw new PolicyError(
      `${name}: ${bytes} bytes, more than the ${POLICY_LIMITS.fileBytes} a policy file may have`,
    );
  }
  const rules: PolicyRule[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const source = `${name}:${index + 1}`;
    const parsed = parseRuleWords(line.split(/\s+/), source);
    if (typeof parsed === "string") problems.push(`${source}: ${parsed}`);
    else rules.push(parsed);
  });
  if (problems.length > 0) throw new PolicyError(problems.join("; "));
  if (rules.length > POLICY_LIMITS.rulesPerFile) {
    throw new PolicyError(
      `${name}: ${rules.length} rules, more than the ${POLICY_LIMITS.rulesPerFile} a file may have`,
    );
  }
  return rules;
}

/** Parses `services/default`: `allow` or `deny` (comments and blank lines allowed). */
export function parseDefaultText(text: string, name = "default"): PolicyAction {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("#")
  );
  if (lines.length === 1 && (lines[0] === "allow" || lines[0] === "deny")) return lines[0];
  throw new PolicyError(`${name}: must hold 'allow' or 'deny', got '${lines.join(" ")}'`);
}
