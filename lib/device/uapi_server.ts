/**
 * The UAPI unix socket (`/var/run/wireguard/<ifname>.sock`): accepts `wg` connections, reads
 * each request up to its blank line, and writes the handler's answer. The socket is 0600 in
 * a 0755 directory, as wireguard-go makes it; a live socket of another device is never
 * stolen, a stale one is replaced.
 */

import { dirname } from "node:path";

/** Answers one request; null closes the connection (unknown operation). */
export type UapiHandler = (request: string) => Promise<string | null>;

/** Thrown when the socket cannot be created. */
export class UapiSocketError extends Error {}

/** Directory wg looks in for userspace devices. */
export const UAPI_SOCKET_DIR = "/var/run/wireguard";

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
    try {
      await Deno.lstat(path);
      if (await socketIsLive(path)) {
        throw new UapiSocketError(`${path} is in use: another device with this name is running`);
      }
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
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
