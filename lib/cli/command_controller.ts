/**
 * `meshguard controller`: the admission controller's HTTP server (issue 15). Runs until SIGINT
 * or SIGTERM; state lives in `--db` (SQLite), status.json is rewritten at each change.
 */

import { dirname, join } from "node:path";
import { ConfigError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "../config/atomic_write.ts";
import { Logger, parseLogLevel } from "../log/logger.ts";
import { ControllerCore } from "../controller/controller_core.ts";
import { createControllerHandler } from "../controller/controller_http.ts";
import { type ControllerStore, MemoryControllerStore } from "../controller/controller_store.ts";
import { SqliteControllerStore } from "../controller/sqlite_store.ts";
import { parseNodesFile } from "../controller/controller_nodes.ts";
import { formatUtcSeconds } from "../controller/timestamp.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";
import { numberFlag } from "./number_flags.ts";

function parseListen(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : -1;
  if (!match || port > 65535) {
    throw new UsageError(
      `--listen must be HOST:PORT (e.g. 127.0.0.1:8000), got '${text}'`,
      "controller",
    );
  }
  return { hostname: match[1] ?? match[2], port };
}

/** Runs the controller; returns its exit code once it has stopped. */
export async function controllerCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("controller", args, {
    listen: { type: "string" },
    nodes: { type: "string" },
    db: { type: "string" },
    "status-file": { type: "string" },
    "epoch-seconds": { type: "string" },
    threshold: { type: "string" },
    "max-age": { type: "string" },
    skew: { type: "string" },
    "rate-limit": { type: "string" },
    "allow-unsigned": { type: "boolean" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "log-level": { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`controller takes no arguments, got '${positionals[0]}'`, "controller");
  }
  if (values.nodes === undefined) {
    throw new UsageError(
      "--nodes FILE is required (JSON: node id -> identity public key)",
      "controller",
    );
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together", "controller");
  }
  const listen = parseListen(values.listen ?? "127.0.0.1:8000");
  const epochSeconds = numberFlag(
    values["epoch-seconds"],
    60,
    "epoch-seconds",
    1,
    86_400,
    "controller",
  );
  const threshold = numberFlag(values.threshold, 0.70, "threshold", 0, 1, "controller");
  const maxAgeSeconds = numberFlag(values["max-age"], 120, "max-age", 1, 86_400, "controller");
  const skewSeconds = numberFlag(values.skew, 30, "skew", 1, 3600, "controller");
  const reportsPerMinute = numberFlag(
    values["rate-limit"],
    10,
    "rate-limit",
    1,
    10_000,
    "controller",
  );
  const allowUnsigned = values["allow-unsigned"] ?? false;
  const log = new Logger(
    parseLogLevel(values["log-level"] ?? "info"),
    (line) => context.io.stderr(line),
  );

  let nodesText: string;
  try {
    nodesText = await Deno.readTextFile(values.nodes);
  } catch (error) {
    throw new ConfigError(`cannot read --nodes ${values.nodes}: ${(error as Error).message}`);
  }
  const nodes = parseNodesFile(nodesText, values.nodes, allowUnsigned);
  let tls: { cert: string; key: string } | undefined;
  if (values["tls-cert"] !== undefined) {
    try {
      tls = {
        cert: await Deno.readTextFile(values["tls-cert"]),
        key: await Deno.readTextFile(values["tls-key"]!),
      };
    } catch (error) {
      throw new ConfigError(`cannot read the TLS certificate or key: ${(error as Error).message}`);
    }
  }
  let store: ControllerStore;
  if (values.db === undefined) {
    log.warn("no --db: state is kept in memory and a restart starts the epochs again at 1");
    store = new MemoryControllerStore();
  } else {
    store = new SqliteControllerStore(values.db);
  }
  const statusFile = values["status-file"] ??
    (values.db === undefined ? undefined : join(dirname(values.db), "status.json"));
  if (allowUnsigned) {
    log.warn(
      "--allow-unsigned: reports without a valid signature are ACCEPTED; anyone who can reach this controller can claim any listed node's score",
    );
  }

  const core = new ControllerCore({
    nodes,
    policy: { threshold, maxAgeSeconds },
    limits: { skewSeconds, reportsPerMinute },
    epochSeconds,
    allowUnsigned,
    store,
    random: (bytes) => crypto.getRandomValues(bytes),
  }, Date.now());
  log.info(
    `[controller] epoch ${core.epoch.id} until ${
      formatUtcSeconds(core.epoch.endMs)
    } (${nodes.size} nodes)`,
  );

  let writing = Promise.resolve();
  const writeStatus = () => {
    if (statusFile === undefined) return;
    const text = JSON.stringify(core.status(), null, 2) + "\n";
    writing = writing.then(() => writeFileAtomic(statusFile, text, 0o644)).catch((error) =>
      log.warn(`cannot write ${statusFile}: ${(error as Error).message}`)
    );
  };
  const onRotation = () => {
    log.info(
      `[controller] Epoch rotation: id=${core.epoch.id} expiry=${
        formatUtcSeconds(core.epoch.endMs)
      }`,
    );
    for (const [id, view] of Object.entries(core.epochView().nodes)) {
      log.info(`[controller] ${id} ${view.membership}: ${view.reason ?? "no decision"}`);
    }
  };
  let epochSeen = core.epoch.id;
  const onStateChange = () => {
    if (core.epoch.id !== epochSeen) {
      epochSeen = core.epoch.id;
      onRotation();
    }
    writeStatus();
  };
  writeStatus();

  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    const delay = Math.max(0, Math.min(core.nextDeadline() - Date.now(), 2 ** 31 - 1));
    timer = setTimeout(() => {
      if (core.tick(Date.now())) onStateChange();
      schedule();
    }, delay + 5);
  };
  schedule();

  const handler = createControllerHandler(core, {
    now: Date.now,
    warn: (message) => log.warn(message),
    info: (message) => log.info(message),
    onStateChange,
  });
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: listen.hostname,
    port: listen.port,
    signal: controller.signal,
    ...(tls ?? {}),
    onListen: ({ hostname, port }) => {
      const scheme = tls ? "https" : "http";
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      log.info(`[controller] listening on ${scheme}://${host}:${port}/ (status page at /)`);
    },
    onError: (error) => {
      log.warn(`request failed: ${(error as Error).message}`);
      return new Response(JSON.stringify({ detail: "internal error" }), { status: 500 });
    },
  }, handler);
  const stop = (name: string) => () => {
    log.info(`[controller] ${name} received, stopping`);
    controller.abort();
  };
  const onInt = stop("SIGINT");
  const onTerm = stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  await server.finished;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  clearTimeout(timer);
  await writing;
  if (store instanceof SqliteControllerStore) store.close();
  return 0;
}
