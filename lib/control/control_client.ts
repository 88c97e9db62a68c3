/**
 * The CLI side of the control socket: connect, send one request, read one answer, all within a
 * timeout. Failures become errors that say what to do (start the daemon, use sudo, …).
 */

import {
  ControlError,
  type ControlRequest,
  type ControlResponse,
  MAX_RESPONSE_BYTES,
  parseControlResponse,
} from "./control_protocol.ts";

/** No daemon listens on the control socket (no file, or a stale one). */
export class DaemonNotRunningError extends ControlError {
  /** The control socket path that was tried. */
  readonly path: string;
  constructor(path: string) {
    super(`meshguard is not running (no control socket at ${path})`);
    this.path = path;
  }
}

/** The control socket (or its directory) is not accessible to this user. */
export class ControlPermissionError extends ControlError {}

/** The daemon did not answer in time. */
export class ControlTimeoutError extends ControlError {}

/** The daemon answered `{"ok":false}`: `message` is its reason. */
export class ControlRefusedError extends ControlError {}

/** Pause before connecting again to a daemon whose listen backlog was full. */
const BACKLOG_RETRY_MS = 20;

/**
 * Connects; a full listen backlog (EAGAIN, someone flooding the socket) is retried until the
 * caller's timeout, whose `timedOut()` stops the retries.
 */
async function connect(path: string, timedOut: () => boolean): Promise<Deno.UnixConn> {
  for (;;) {
    try {
      return await connectOnce(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.WouldBlock) || timedOut()) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, BACKLOG_RETRY_MS));
  }
}

async function connectOnce(path: string): Promise<Deno.UnixConn> {
  try {
    return await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused) {
      throw new DaemonNotRunningError(path);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new ControlPermissionError(
        `permission denied on the control socket ${path}: run as root (sudo) or as the user ` +
          "running the daemon, or pass --control with the daemon's socket path",
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Writes all of `bytes`, unless the daemon closes first: one that is busy (or refuses an
 * oversize request) answers and closes without reading, and its answer is still there to read.
 */
export async function writeUnlessClosed(connection: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  try {
    while (written < bytes.length) written += await connection.write(bytes.subarray(written));
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  }
}

async function exchange(
  connection: Deno.UnixConn,
  request: ControlRequest,
  path: string,
): Promise<string> {
  await writeUnlessClosed(connection, new TextEncoder().encode(JSON.stringify(request) + "\n"));
  const chunks: Uint8Array[] = [];
  let total = 0;
  const chunk = new Uint8Array(65536);
  for (;;) {
    const count = await connection.read(chunk);
    if (count === null) break;
    const newline = chunk.subarray(0, count).indexOf(0x0a);
    chunks.push(chunk.slice(0, newline >= 0 ? newline : count));
    total += count;
    if (newline >= 0) break;
    if (total > MAX_RESPONSE_BYTES) {
      throw new ControlError(
        `the daemon's answer on ${path} is larger than ${MAX_RESPONSE_BYTES} bytes`,
      );
    }
  }
  if (total === 0) {
    throw new ControlError(`the daemon closed ${path} without answering (see its log)`);
  }
  const joined = new Uint8Array(chunks.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of chunks) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(joined);
}

/**
 * Sends `request` to the daemon at `path` and returns its validated answer (which may be
 * `{"ok":false}`). Throws DaemonNotRunningError, ControlPermissionError, ControlTimeoutError or
 * ControlError (broken answer).
 */
export async function sendControlRequest(
  path: string,
  request: ControlRequest,
  timeoutMs = 5000,
): Promise<ControlResponse> {
  let connection: Deno.UnixConn | undefined;
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      // Closing makes a pending read or write fail, so nothing outlives the timeout.
      try {
        connection?.close();
      } catch {
        // already closed
      }
      reject(
        new ControlTimeoutError(
          `the daemon did not answer within ${timeoutMs / 1000} s (control socket ${path})`,
        ),
      );
    }, timeoutMs);
  });
  const work = (async () => {
    const opened = await connect(path, () => timedOut);
    if (timedOut) {
      opened.close();
      throw new ControlTimeoutError(`timed out connecting to ${path}`);
    }
    connection = opened;
    try {
      return await exchange(opened, request, path);
    } catch (error) {
      if (error instanceof ControlError || timedOut) throw error;
      if (
        error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe
      ) {
        throw new ControlError(`the daemon closed ${path} without answering (see its log)`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      if (!timedOut) opened.close();
    }
  })();
  // The loser of the race must not surface as an unhandled rejection.
  work.catch(() => {});
  try {
    const text = await Promise.race([work, timeout]);
    return parseControlResponse(text, request.command);
  } finally {
    clearTimeout(timer);
  }
}
