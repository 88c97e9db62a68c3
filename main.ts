/** meshguard's command-line entry point: `deno run … main.ts <command> [options]`. */

import { runCli } from "./lib/cli/cli.ts";
import { denoCliIo } from "./lib/cli/deno_cli_io.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, denoCliIo()));
}
