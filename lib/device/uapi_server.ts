/**
 * The UAPI unix socket (`/var/run/wireguard/<ifname>.sock`): accepts `wg` connections, reads
 * each request up to its blank line, and writes the handler's answer. The socket is 0600 in
 * a 0755 directory, as wireguard-go makes it; a live socket of another device is never
 * stolen, a stale one is replaced.
 *
 * `get=1` answers `private_key=`, so the socket must never be connectable by another user, not
 * even for an instant: bind() creates the file with the process umask, and the umask is
 * process-wide (our worker threads share it), so we neither trust nor change it. The socket is
 * bound inside a fresh 0700 directory only we can enter, chmod'ed 0600 there, and only then
 * hard-linked to its public name (link() fails if the name was taken meanwhile, so a device
 * that started at the same moment is never replaced).
 */

import { basename, dirname, join } from "node:path";
import { MeshguardError } from "../errors.ts";

/** Answers one request; null closes the connection (unknown operation). */
export type UapiHandler = (request: string) => Promise<string | null>;

/** Thrown when the socket cannot be created (in use, unsafe directory). */
export class UapiSocketError extends MeshguardError {}

/** Directory wg looks in for userspace devices. */
export const UAPI_SOCKET_DIR = "/var/run/wireguard";

/** Only root (the owner) may connect: the answer to `get=1` holds the private key. */
const SOCKET_MODE = 0o600;

/** Largest request accepted (a full `set=1` for thousands of peers fits easily). */
const MAX_REQUEST_BYTES = 4 << 20;

/** The socket path of an interface. */
export function uapiSocketPath(interfaceName: string, directory = UAPI_SOCKET_DIR): string {
  return `${directory}/${interfaceName}.sock`;
}

async function socketIsLive(path: string): Promise<boolean> {
  try {
    const connection = await Deno.connect({ transport: "unix", path });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Binds at `path` without the socket ever being reachable there with a wider mode than 0600. */
async function listenPrivately(path: string): Promise<Deno.UnixListener> {
  // makeTempDir creates the directory 0700 whatever the umask is.
  const privateDirectory = await Deno.makeTempDir({
    dir: dirname(path),
    prefix: `.${basename(path)}.`,
  });
  const boundPath = join(privateDirectory, "s");
  try {
    const listener = Deno.listen({ transport: "unix", path: boundPath });
    try {
      await Deno.chmod(boundPath, SOCKET_MODE);
      await Deno.link(boundPath, path);
    } catch (error) {
      listener.close();
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new UapiSocketError(`${path} is in use: another device with this name is running`);
      }
      throw error;
    }
    return listener;
  } finally {
    await Deno.remove(privateDirectory, { recursive: true }).catch(() => {});
  }
}

/**
 * Refuses a socket directory where others may delete or replace entries: they could swap our
 * socket for theirs and receive the private key of the next `wg set`. A sticky directory (like
 * /tmp) only lets the owner of an entry remove it, so it is allowed.
 */
async function assertDirectoryKeepsOthersOut(directory: string): Promise<void> {
  const mode = (await Deno.stat(directory)).mode ?? 0;
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
    throw new UapiSocketError(
      `refusing to serve the UAPI socket in ${directory}: other users may replace files there ` +
        `(mode ${(mode & 0o7777).toString(8).padStart(4, "0")}); fix it with: ` +
        `chmod go-w ${directory}`,
    );
  }
}

/** A listening UAPI socket; `close()` stops it and removes the file. */
export class UapiServer {
  private constructor(
    private readonly listener: Deno.UnixListener,
    readonly path: string,
    private readonly handler: UapiHandler,
  ) {}

  /** Creates the socket at `path` and starts serving. */
  static async listen(path: string, handler: UapiHandler): Promise<UapiServer> {
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await assertDirectoryKeepsOthersOut(dirname(path));
    try {
      await Deno.lstat(path);
      if (await socketIsLive(path)) {
        throw new UapiSocketError(`${path} is in use: another device with this name is running`);
      }
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const listener = await listenPrivately(path);
    const server = new UapiServer(listener, path, handler);
    server.acceptLoop();
    return server;
  }

  private async acceptLoop(): Promise<void> {
    try {
      for await (const connection of this.listener) this.serve(connection);
    } catch {
      // The listener was closed.
    }
  }

  private async serve(connection: Deno.UnixConn): Promise<void> {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    let buffer = "";
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const read = await connection.read(chunk);
        if (read === null) return;
        buffer += decoder.decode(chunk.subarray(0, read), { stream: true });
        if (buffer.length > MAX_REQUEST_BYTES) return;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const request = buffer.slice(0, end + 1);
          buffer = buffer.slice(end + 2);
          const response = await this.handler(request);
          if (response === null) return;
          const bytes = encoder.encode(response);
          let written = 0;
          while (written < bytes.length) written += await connection.write(bytes.subarray(written));
        }
      }
    } catch {
      // A client that goes away mid-request is its own problem.
    } finally {
      try {
        connection.close();
      } catch {
        // already closed
      }
    }
  }

  /** Stops accepting and removes the socket file. */
  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch {
      // already closed
    }
    await Deno.remove(this.path).catch(() => {});
  }
}
