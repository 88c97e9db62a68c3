/**
 * `meshguard service`: edits and shows the `services/` policy files (lib/policy/). A running
 * daemon picks every change up by itself (it watches the folder); a change that would not load
 * is refused before anything is written.
 */

import { UsageError } from "../errors.ts";
import { isDnsLabel } from "../trust/dns_label.ts";
import { listTrusted } from "../trust/trust_store.ts";
import {
  appendPolicyRule,
  loadPolicySet,
  type PolicyTarget,
  resetPolicies,
  writeDefaultAction,
} from "../policy/policy_files.ts";
import { parseRuleWords } from "../policy/policy_parser.ts";
import { formatRule } from "../policy/policy_rules.ts";
import type { CommandContext } from "./command_context.ts";
import { serviceShow } from "./command_service_show.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs `service <list|allow|deny|default|show|reset>`. */
export async function serviceCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("service", args, {
    peer: { type: "string" },
    org: { type: "string" },
    cert: { type: "string" },
  });
  const [sub, ...rest] = positionals;
  const configDir = context.configDir();
  const io = context.io;
  const noFlags = (what: string) => {
    if (values.peer !== undefined || values.org !== undefined || values.cert !== undefined) {
      throw new UsageError(`service ${what} takes no --peer, --org or --cert`, "service");
    }
  };
  switch (sub) {
    case "allow":
    case "deny": {
      if (values.peer !== undefined && values.org !== undefined) {
        throw new UsageError("give --peer or --org, not both", "service");
      }
      if (values.cert !== undefined) {
        throw new UsageError("--cert goes with 'service show' only", "service");
      }
      const rule = parseRuleWords([sub, ...rest], "command line");
      if (typeof rule === "string") throw new UsageError(rule, "service");
      const target: PolicyTarget = values.peer !== undefined
        ? { kind: "peer", name: values.peer }
        : values.org !== undefined
        ? { kind: "org", name: values.org }
        : { kind: "global" };
      const file = await appendPolicyRule(configDir, target, rule);
      io.stderr(`Added '${formatRule(rule)}' to services/${file}.\n`);
      if (target.kind !== "global" && isDnsLabel(target.name)) {
        const kind = target.kind === "peer" ? "peer" : "org";
        const trusted = await listTrusted(configDir, kind);
        if (!trusted.entries.some((entry) => entry.name === target.name)) {
          io.stderr(
            `warning: no trusted ${kind} is named '${target.name}'; the file applies once one is\n`,
          );
        }
      }
      if (target.kind === "org") {
        io.stderr(
          "note: it applies to members admitted by this org's certificates (not to vouched keys)\n",
        );
      }
      return 0;
    }
    case "default": {
      noFlags("default");
      const action = rest[0];
      if (rest.length !== 1 || (action !== "allow" && action !== "deny")) {
        throw new UsageError("service default needs 'allow' or 'deny'", "service");
      }
      await writeDefaultAction(configDir, action);
      io.stderr(`Default set to ${action}.\n`);
      return 0;
    }
    case "list": {
      noFlags("list");
      if (rest.length > 0) throw new UsageError("service list takes no arguments", "service");
      const loaded = await loadPolicySet(configDir);
      for (const warning of loaded.unresolved) io.stderr(`warning: ${warning}\n`);
      const { set } = loaded;
      let text = `default: ${set.defaultAction}\n`;
      for (const file of [set.global, ...set.peers.values(), ...set.orgs.values()]) {
        if (file === null) continue;
        text += `${file.name}:\n`;
        for (const rule of file.rules) text += `  ${formatRule(rule)}\n`;
      }
      for (const file of loaded.pending) {
        text += `${file.name} (not applied: its name is not trusted):\n`;
        for (const rule of file.rules) text += `  ${formatRule(rule)}\n`;
      }
      io.stdout(text);
      return 0;
    }
    case "show": {
      if (rest.length > 1 || (rest.length === 1 && values.peer !== undefined)) {
        throw new UsageError("service show takes one peer (PEER or --peer PEER)", "service");
      }
      return await serviceShow(context, {
        peer: values.peer ?? rest[0],
        cert: values.cert,
        org: values.org,
      });
    }
    case "reset": {
      noFlags("reset");
      if (rest.length > 0) throw new UsageError("service reset takes no arguments", "service");
      const removed = await resetPolicies(configDir);
      io.stderr(`Removed ${removed} policy file${removed === 1 ? "" : "s"}: every port is open.\n`);
      return 0;
    }
    default:
      throw new UsageError(
        sub === undefined ? "service needs a subcommand" : `unknown service subcommand '${sub}'`,
        "service",
      );
  }
}
