/** The real process behind the CLI: Deno's stdio, environment and permissions. */

import type { CliIo, CommandPermission } from "./cli_io.ts";

const ALL_PERMISSIONS: readonly CommandPermission[] = [
  "read",
  "write",
  "env",
  "sys",
  "net",
  "run",
  "ffi",
];

function writeAll(target: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
}

/** A CliIo bound to this Deno process. */
export function denoCliIo(): CliIo {
  return {
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    env: (name) => Deno.env.get(name),
    uid: () => Deno.uid(),
    cwd: () => Deno.cwd(),
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    readLine: async () => {
      const bytes: number[] = [];
      const one = new Uint8Array(1);
      for (;;) {
        const count = await Deno.stdin.read(one);
        if (count === null) {
          return bytes.length > 0 ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
        }
        if (one[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
        bytes.push(one[0]);
      }
    },
    dropPermissionsExcept: (keep) => {
      for (const name of ALL_PERMISSIONS) {
        if (!keep.includes(name)) Deno.permissions.revokeSync({ name });
      }
    },
  };
}
