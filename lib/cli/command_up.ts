/** `meshguard up`: runs the mesh daemon in the foreground until SIGINT, SIGTERM or `down`. */

import { UsageError } from "../errors.ts";
import { ControlServer } from "../control/control_server.ts";
import type { ControlResponse } from "../control/control_protocol.ts";
import { defaultControlPath, isValidInterfaceName } from "../control/control_path.ts";
import { MeshDaemon, type MeshDaemonOptions } from "../daemon/mesh_daemon.ts";
import {
  commandScoreSource,
  fileScoreSource,
  mockScoreSource,
  type ScoreSource,
  seededRandom,
} from "../controller/score_source.ts";
import { NODE_ID_PATTERN } from "../controller/benchmark_report.ts";
import { Logger, parseLogLevel } from "../log/logger.ts";
import { DEFAULT_SWIM_PORT, parseSeed, type SeedSpec } from "../swim/address.ts";
import { SwimAddressError } from "../swim/swim_errors.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { integerFlag } from "./number_flags.ts";
import { MAX_WORKERS } from "../device/userspace_device.ts";
import { DEFAULT_MAX_MEMBERS, MAX_MAX_MEMBERS } from "../daemon/member_cap.ts";
import { MAX_ENDPOINTS } from "../swim/constants.ts";
import { parseRelayFlags } from "./relay_flags.ts";

/** Most seeds `up` takes (as the original). */
const MAX_SEEDS = 16;

/** Most `--stun` servers `up` takes. */
const MAX_STUN_SERVERS = 8;
/** A `--stun` server's port when none is given (STUN's registered port). */
const DEFAULT_STUN_PORT = 3478;

/** `--stun` values: none → members; `none` alone → off; else HOST[:PORT] servers. */
export function parseStunFlags(
  texts: string[],
): { kind: "members" } | { kind: "servers"; servers: SeedSpec[] } | { kind: "off" } {
  if (texts.length === 0) return { kind: "members" };
  if (texts.includes("none")) {
    if (texts.length > 1) {
      throw new UsageError("--stun none turns STUN off; it cannot be combined with servers", "up");
    }
    return { kind: "off" };
  }
  if (texts.length > MAX_STUN_SERVERS) {
    throw new UsageError(`at most ${MAX_STUN_SERVERS} --stun values, got ${texts.length}`, "up");
  }
  const servers = texts.map((text) => {
    try {
      const spec = parseSeed(text);
      // parseSeed's default is the mesh port; a STUN server's is 3478.
      return /:[0-9]+$/.test(text.trim()) ? spec : { ...spec, port: DEFAULT_STUN_PORT };
    } catch (error) {
      if (error instanceof SwimAddressError) {
        throw new UsageError(`--stun ${error.message.replaceAll("seed", "server")}`, "up");
      }
      throw error;
    }
  });
  if (servers.some((server) => server.port === 0)) {
    throw new UsageError("--stun: port 0 is not a server's port", "up");
  }
  return { kind: "servers", servers };
}

/** The `--controller` flags as the daemon's agent settings (undefined without `--controller`). */
async function parseControllerFlags(values: {
  controller?: string;
  "controller-ca"?: string;
  "controller-node-id"?: string;
  "controller-poll"?: string;
  "controller-fail-open"?: boolean;
  "report-interval"?: string;
  "score-command"?: string;
  "score-file"?: string;
  "score-mock"?: string;
}): Promise<MeshDaemonOptions["controller"]> {
  const related = [
    "controller-ca",
    "controller-node-id",
    "controller-poll",
    "controller-fail-open",
    "report-interval",
    "score-command",
    "score-file",
    "score-mock",
  ] as const;
  if (values.controller === undefined) {
    const stray = related.find((name) => values[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --controller URL`, "up");
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(values.controller);
  } catch {
    throw new UsageError(`--controller must be an http(s) URL, got '${values.controller}'`, "up");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--controller must be an http(s) URL, got '${values.controller}'`, "up");
  }
  const sources = (["score-command", "score-file", "score-mock"] as const).filter((name) =>
    values[name] !== undefined
  );
  if (sources.length !== 1) {
    throw new UsageError(
      "--controller needs exactly one of --score-command CMD, --score-file FILE, --score-mock MEAN",
      "up",
    );
  }
  let scores: ScoreSource | undefined;
  if (values["score-command"] !== undefined) scores = commandScoreSource(values["score-command"]);
  else if (values["score-file"] !== undefined) scores = fileScoreSource(values["score-file"]);
  else {
    const mean = Number(values["score-mock"]);
    if (!(mean >= 0 && mean <= 1)) {
      throw new UsageError(
        `--score-mock must be a mean score 0-1, got '${values["score-mock"]}'`,
        "up",
      );
    }
  }
  const nodeId = values["controller-node-id"] ?? Deno.hostname();
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw new UsageError(
      `--controller-node-id '${nodeId}' is not a node id (1-63 of [A-Za-z0-9._-])`,
      "up",
    );
  }
  scores ??= mockScoreSource(Number(values["score-mock"]), seededRandom(nodeId));
  let caCert: string | undefined;
  if (values["controller-ca"] !== undefined) {
    try {
      caCert = await Deno.readTextFile(values["controller-ca"]);
    } catch (error) {
      throw new UsageError(`cannot read --controller-ca: ${(error as Error).message}`, "up");
    }
  }
  const seconds = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback * 1000;
    const value = Number(text);
    if (!(value >= 0.1 && value <= 3600)) {
      throw new UsageError(`--${name} must be 0.1-3600 seconds, got '${text}'`, "up");
    }
    return value * 1000;
  };
  return {
    url: url.href.replace(/\/$/, ""),
    caCert,
    nodeId,
    scores,
    pollMs: seconds(values["controller-poll"], 10, "controller-poll"),
    reportMs: seconds(values["report-interval"], 10, "report-interval"),
    failOpen: values["controller-fail-open"] ?? false,
  };
}

/** Runs the daemon; returns its exit code once it has stopped. */
export async function upCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("up", args, {
    seed: { type: "string", multiple: true },
    stun: { type: "string", multiple: true },
    announce: { type: "string", multiple: true },
    port: { type: "string" },
    interface: { type: "string" },
    mtu: { type: "string" },
    workers: { type: "string" },
    open: { type: "boolean" },
    relay: { type: "boolean" },
    "relay-rate": { type: "string" },
    "relay-pairs": { type: "string" },
    "max-members": { type: "string" },
    "no-tun": { type: "boolean" },
    "no-dns": { type: "boolean" },
    "no-offload": { type: "boolean" },
    control: { type: "string" },
    "log-level": { type: "string" },
    controller: { type: "string" },
    "controller-ca": { type: "string" },
    "controller-node-id": { type: "string" },
    "controller-poll": { type: "string" },
    "controller-fail-open": { type: "boolean" },
    "report-interval": { type: "string" },
    "score-command": { type: "string" },
    "score-file": { type: "string" },
    "score-mock": { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`up takes no arguments, got '${positionals[0]}'`, "up");
  }
  const port = integerFlag(values.port, DEFAULT_SWIM_PORT, "port", 0, 65535, "up");
  const mtu = integerFlag(values.mtu, 1420, "mtu", 1280, 65535, "up");
  const workers = values.workers === undefined
    ? undefined
    : integerFlag(values.workers, 1, "workers", 1, MAX_WORKERS, "up");
  if (values["max-members"] !== undefined && !values.open) {
    throw new UsageError(
      "--max-members only applies with --open (trusted keys are not capped)",
      "up",
    );
  }
  const maxMembers = integerFlag(
    values["max-members"],
    DEFAULT_MAX_MEMBERS,
    "max-members",
    1,
    MAX_MAX_MEMBERS,
    "up",
  );
  const relayLimits = parseRelayFlags(
    values["relay-rate"],
    values["relay-pairs"],
    values.relay ?? false,
  );
  const interfaceName = values.interface ?? "mg0";
  if (!isValidInterfaceName(interfaceName)) {
    throw new UsageError(
      `--interface '${interfaceName}' is not a valid interface name (1-15 bytes, no '/', ':' or spaces)`,
      "up",
    );
  }
  const seedTexts = values.seed ?? [];
  if (seedTexts.length > MAX_SEEDS) {
    throw new UsageError(`at most ${MAX_SEEDS} --seed values, got ${seedTexts.length}`, "up");
  }
  const seeds: SeedSpec[] = seedTexts.map((text) => {
    try {
      return parseSeed(text);
    } catch (error) {
      if (error instanceof SwimAddressError) throw new UsageError(`--seed ${error.message}`, "up");
      throw error;
    }
  });
  const stun = parseStunFlags(values.stun ?? []);
  const announceTexts = values.announce ?? [];
  if (announceTexts.length > MAX_ENDPOINTS) {
    throw new UsageError(
      `at most ${MAX_ENDPOINTS} --announce values (the record's endpoint bound), got ${announceTexts.length}`,
      "up",
    );
  }
  const announce: SeedSpec[] = announceTexts.map((text) => {
    try {
      return parseSeed(text);
    } catch (error) {
      if (error instanceof SwimAddressError) {
        // parseSeed words its errors for seeds; the syntax is the same.
        const message = error.message.replace(/\bseeds\b/g, "addresses")
          .replace(/\bseed\b/g, "address");
        throw new UsageError(`--announce ${message}`, "up");
      }
      throw error;
    }
  });
  const level = parseLogLevel(values["log-level"] ?? "info");
  const log = new Logger(level, (line) => context.io.stderr(line));
  const configDir = context.configDir();
  const uid = context.io.uid();
  const controlPath = values.control ?? defaultControlPath(interfaceName, configDir, uid);

  const controller = await parseControllerFlags(values);

  const daemon = await MeshDaemon.start({
    controller,
    configDir,
    interfaceName,
    port,
    mtu,
    workers,
    open: values.open ?? false,
    maxMembers,
    noTun: values["no-tun"] ?? false,
    offload: !(values["no-offload"] ?? false),
    seeds,
    stun,
    announce,
    relay: values.relay ?? false,
    relayLimits,
    dns: !(values["no-dns"] ?? false),
    log,
  });
  let control: ControlServer;
  try {
    control = await ControlServer.listen(
      controlPath,
      async (request): Promise<ControlResponse> => {
        switch (request.command) {
          case "status":
            return { ok: true, status: await daemon.status() };
          case "netcheck":
            return { ok: true, netcheck: await daemon.netcheck() };
          case "reload":
            await daemon.reload();
            return { ok: true };
          case "down":
            // Answer first; the daemon stops once the answer is on its way.
            setTimeout(() => daemon.stop("'meshguard down' requested"), 0);
            return { ok: true };
        }
      },
      { daemonUid: uid ?? 0, onError: (message) => log.warn(`control socket: ${message}`) },
    );
  } catch (error) {
    await daemon.stop("the control socket could not be created");
    throw error;
  }
  log.info(`control socket ${control.path}`);
  const onSignal = (name: string) => () => daemon.stop(`${name} received`);
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  await daemon.done;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  await control.close();
  return 0;
}
