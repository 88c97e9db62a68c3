/** `meshguard device <ifname>`: a standalone userspace WireGuard device, configured with `wg`. */

import { UsageError } from "../errors.ts";
import { MAX_WORKERS, UserspaceDevice } from "../device/userspace_device.ts";
import type { CommandContext } from "./command_context.ts";
import { parseCommandArguments } from "./parse_arguments.ts";

/** Runs the device in the foreground until SIGINT or SIGTERM, then removes it. */
export async function deviceCommand(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArguments("device", args, {
    mtu: { type: "string" },
    port: { type: "string" },
    workers: { type: "string" },
    "retire-idle": { type: "string" },
    "no-offload": { type: "boolean" },
  });
  if (positionals.length !== 1) throw new UsageError("device needs an interface name", "device");
  const mtu = values.mtu === undefined ? 1420 : Number(values.mtu);
  if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) {
    throw new UsageError(`--mtu must be an integer 1280-65535, got ${values.mtu}`, "device");
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer 0-65535, got ${values.port}`, "device");
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (
    workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)
  ) {
    throw new UsageError(
      `--workers must be an integer 1-${MAX_WORKERS}, got ${values.workers}`,
      "device",
    );
  }
  const retireIdle = values["retire-idle"] === undefined
    ? undefined
    : Number(values["retire-idle"]);
  if (retireIdle !== undefined && !(Number.isFinite(retireIdle) && retireIdle >= 1)) {
    throw new UsageError(
      `--retire-idle must be a number of seconds, at least 1, got ${values["retire-idle"]}`,
      "device",
    );
  }
  const log = (message: string) => context.io.stderr(`${new Date().toISOString()} ${message}\n`);
  const device = await UserspaceDevice.start({
    interfaceName: positionals[0],
    mtu,
    listenPort: port,
    workers,
    retireIdleMs: retireIdle === undefined ? undefined : retireIdle * 1000,
    offload: !(values["no-offload"] ?? false),
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  log(`stopping ${device.interfaceName}`);
  await device.stop();
  return 0;
}
