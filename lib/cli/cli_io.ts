/** The process around the CLI, as an interface so commands can be run and tested anywhere. */

/** Deno permission names a command may keep. */
export type CommandPermission = "read" | "write" | "env" | "sys" | "net" | "run" | "ffi";

/** Everything a CLI command reads from or writes to its process. */
export interface CliIo {
  /** Writes data (what a script would capture) to stdout. */
  stdout(text: string): void;
  /** Writes messages and diagnostics to stderr. */
  stderr(text: string): void;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Effective uid of the process; null where the platform has none. */
  uid(): number | null;
  /** Current working directory. */
  cwd(): string;
  /** True when stdin is a terminal (a human can answer a question). */
  stdinIsTerminal(): boolean;
  /** Reads one line from stdin; null at end of input. */
  readLine(): Promise<string | null>;
  /** Gives up every permission not listed, for the rest of the process's life. */
  dropPermissionsExcept(keep: readonly CommandPermission[]): void;
}
