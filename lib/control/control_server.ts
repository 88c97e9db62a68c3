/**
 * The daemon's control socket: a unix stream socket (mode 0666, so any local user can ask
 * `status`) answering one JSON request per connection. Mutating commands are checked against the
 * caller's uid from SO_PEERCRED. A live socket of another daemon is never taken over; a stale one
 * left by a crash is replaced; a file that is not a socket is never removed. Connections are
 * bounded in number and time, and one bad client only loses its own answer.
 *
 * No local user can lock root out: the accept loop never pauses (so the large listen backlog
 * drains and root's connect() never meets EAGAIN), each connection is charged to its uid at
 * accept, over-limit connections get a one-line "busy" answer and are closed at once, root and
 * the daemon's uid have slots of their own that others never use, and a client has one second
 * to send its one-line request. The connection-time window between bind() and chmod() needs no
 * closing here: the socket is meant to be world-connectable and every request is judged by
 * the credentials the kernel recorded, not by who could reach the file.
 */

import { dirname } from "node:path";
import { MeshguardError } from "../errors.ts";
import { ConnectionLimits, isPrivilegedUid } from "./connection_limits.ts";
import { Errno, SystemCallError } from "../../ffi/errors.ts";
import {
  type PeerCredentials,
  type UnixStreamConnection,
  UnixStreamListener,
} from "../../ffi/unix_socket.ts";
import {
  type ControlCommand,
  type ControlRequest,
  type ControlResponse,
  isMutatingCommand,
  MAX_REQUEST_BYTES,
  validateControlRequest,
} from "./control_protocol.ts";

export type { PeerCredentials } from "../../ffi/unix_socket.ts";

/**
 * Answers one authorized request. A thrown error becomes `{"ok":false,"error":message}`. The
 * handler must not await `close()` of its own server (close waits for answers in flight): to
 * stop on `down`, answer and let the daemon's main loop close the server.
 */
export type ControlHandler = (
  request: ControlRequest,
  credentials: PeerCredentials,
) => ControlResponse | Promise<ControlResponse>;

/** How the server runs. */
export interface ControlServerOptions {
  /** The daemon's uid: besides root, the only uid allowed to send `down` and `reload`. */
  daemonUid: number;
  /** Connections served at once for all uids other than root and the daemon's. Default 16. */
  maxConnections?: number;
  /** Connections served at once for one such uid; more are answered "busy". Default 4. */
  maxConnectionsPerUid?: number;
  /** Slots of root and the daemon's uid, which other users never take. Default 8. */
  privilegedConnections?: number;
  /** Time a client has from connecting to sending its one-line request. Default 1 s. */
  requestTimeoutMs?: number;
  /** Time a client has to take its answer. Default 5 s. */
  timeoutMs?: number;
  /** Reports failures that are not one client's fault (accept errors). Default: ignored. */
  onError?: (message: string) => void;
}

/** The control socket cannot be created (in use, wrong file type, no permission). */
export class ControlSocketError extends MeshguardError {}

/** Mode of the socket file: connecting needs write permission, and `status` is for everyone. */
const SOCKET_MODE = 0o666;
/** Mode of a socket directory the server creates. */
const DIRECTORY_MODE = 0o755;
/**
 * Pending connections the kernel queues for us. The accept loop drains it continuously, so it
 * only has to absorb a burst; the kernel caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 1024;
/** Pause after a failed accept (EMFILE…), whose pending connection would otherwise spin us. */
const ACCEPT_RETRY_MS = 100;

/**
 * Whether a peer of uid `peerUid` may send `command` to a daemon running as `daemonUid`: null
 * when allowed, else the reason (the text of the error answer).
 */
export function authorizeControlCommand(
  command: ControlCommand,
  peerUid: number,
  daemonUid: number,
): string | null {
  if (!isMutatingCommand(command) || isPrivilegedUid(peerUid, daemonUid)) return null;
  return `permission denied: '${command}' is only allowed for root or uid ${daemonUid} ` +
    `(the daemon's user); you are uid ${peerUid}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function ensureDirectory(directory: string): Promise<void> {
  try {
    const info = await Deno.stat(directory);
    if (!info.isDirectory) {
      throw new ControlSocketError(`${directory} exists but is not a directory`);
    }
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
  // mkdir's mode is filtered by the umask.
  await Deno.chmod(directory, DIRECTORY_MODE);
}

function inUseError(path: string): ControlSocketError {
  return new ControlSocketError(`another meshguard daemon is running (control socket ${path})`);
}

/** Removes a socket file nobody listens on; refuses a live socket and any other kind of file. */
async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new ControlSocketError(
      `${path} exists and is not a socket: remove it, or choose another path with --control`,
    );
  }
  try {
    const connection = await Deno.connect({ transport: "unix", path });
    connection.close();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    if (error instanceof Deno.errors.ConnectionRefused) {
      // Nobody listens: the socket of a daemon that crashed.
      await Deno.remove(path);
      return;
    }
    throw new ControlSocketError(
      `cannot tell whether a daemon is using ${path}: ${message(error)}`,
      { cause: error },
    );
  }
  throw inUseError(path);
}

/** What one client sent. */
interface ReceivedRequest {
  text: string;
  /** The request ended with "\n" (rather than end of file). */
  terminated: boolean;
  /** MAX_REQUEST_BYTES passed without a newline. */
  tooLarge: boolean;
}

function isResponse(value: unknown): value is ControlResponse {
  return typeof value === "object" && value !== null &&
    typeof (value as { ok?: unknown }).ok === "boolean";
}

/** A running control socket; `close()` stops it and removes the socket file. */
export class ControlServer {
  /** The socket file's path. */
  readonly path: string;
  readonly #listener: UnixStreamListener;
  readonly #handler: ControlHandler;
  readonly #daemonUid: number;
  readonly #limits: ConnectionLimits;
  readonly #requestTimeoutMs: number;
  readonly #timeoutMs: number;
  readonly #onError: (message: string) => void;
  /** The socket file's identity, so close() never removes a file someone else put there. */
  readonly #fileId: { dev: number; ino: number | null };
  readonly #active = new Set<Promise<void>>();
  /** Connections still waiting for their request: close() shuts them down. */
  readonly #reading = new Set<UnixStreamConnection>();
  #closing = false;
  #closed: Promise<void> | null = null;
  #loop: Promise<void> = Promise.resolve();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeRetry: (() => void) | undefined;

  private constructor(
    path: string,
    listener: UnixStreamListener,
    handler: ControlHandler,
    options: ControlServerOptions,
    fileId: { dev: number; ino: number | null },
  ) {
    this.path = path;
    this.#listener = listener;
    this.#handler = handler;
    this.#daemonUid = options.daemonUid;
    this.#limits = new ConnectionLimits({
      daemonUid: options.daemonUid,
      maxConnections: options.maxConnections ?? 16,
      maxConnectionsPerUid: options.maxConnectionsPerUid ?? 4,
      privilegedConnections: options.privilegedConnections ?? 8,
    });
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#onError = options.onError ?? (() => {});
    this.#fileId = fileId;
  }

  /**
   * Creates the socket at `path` (and its directory, 0755, if missing) and starts serving.
   * Throws ControlSocketError when another daemon answers there or the path is not a socket.
   */
  static async listen(
    path: string,
    handler: ControlHandler,
    options: ControlServerOptions,
  ): Promise<ControlServer> {
    await ensureDirectory(dirname(path));
    await removeStaleSocket(path);
    let listener: UnixStreamListener;
    try {
      listener = UnixStreamListener.listen(path, LISTEN_BACKLOG);
    } catch (error) {
      // A daemon that started between our check and bind() won the race.
      if (error instanceof SystemCallError && error.errno === Errno.EADDRINUSE) {
        throw inUseError(path);
      }
      throw new ControlSocketError(
        `cannot create the control socket ${path}: ${message(error)}`,
        { cause: error },
      );
    }
    let info: Deno.FileInfo;
    try {
      await Deno.chmod(path, SOCKET_MODE);
      info = await Deno.lstat(path);
    } catch (error) {
      await listener.close();
      await Deno.remove(path).catch(() => {});
      throw new ControlSocketError(
        `cannot set up the control socket ${path}: ${message(error)}`,
        { cause: error },
      );
    }
    const server = new ControlServer(path, listener, handler, options, {
      dev: info.dev,
      ino: info.ino,
    });
    server.#loop = server.#acceptLoop();
    return server;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let connection: UnixStreamConnection | null;
      try {
        connection = await this.#listener.accept();
      } catch (error) {
        this.#onError(`control socket ${this.path}: ${message(error)}`);
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retryTimer = setTimeout(resolve, ACCEPT_RETRY_MS);
        });
        continue;
      }
      if (connection === null) break;
      const acceptedAt = performance.now();
      let credentials: PeerCredentials;
      try {
        credentials = connection.peerCredentials();
      } catch (error) {
        this.#onError(`control socket ${this.path}: ${message(error)}`);
        await connection.close().catch(() => {});
        continue;
      }
      const busy = this.#limits.admit(credentials.uid);
      if (busy !== null) {
        await this.#refuse(connection, busy);
        continue;
      }
      const serving: Promise<void> = this.#serve(connection, credentials, acceptedAt).finally(
        () => {
          this.#limits.release(credentials.uid);
          this.#active.delete(serving);
        },
      );
      this.#active.add(serving);
    }
  }

  /** Answers "busy" without waiting (a full socket buffer just loses the text) and closes. */
  async #refuse(connection: UnixStreamConnection, error: string): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify({ ok: false, error }) + "\n");
    try {
      await connection.writeAll(bytes, performance.now());
    } catch {
      // The client gets end of file instead of the reason.
    } finally {
      await connection.close().catch(() => {});
    }
  }

  async #serve(
    connection: UnixStreamConnection,
    credentials: PeerCredentials,
    acceptedAt: number,
  ): Promise<void> {
    try {
      this.#reading.add(connection);
      let request: ReceivedRequest;
      try {
        request = await this.#readRequest(connection, acceptedAt + this.#requestTimeoutMs);
      } finally {
        this.#reading.delete(connection);
      }
      // close() ended the wait: whatever arrived is not a whole request.
      if (this.#closing && !request.terminated) return;
      // Connected and hung up without a word: a liveness probe (another daemon starting).
      if (!request.terminated && !request.tooLarge && request.text.length === 0) return;
      const response: ControlResponse = request.tooLarge
        ? { ok: false, error: `request too large: over ${MAX_REQUEST_BYTES} bytes` }
        : await this.#answer(request.text, credentials);
      let text: string;
      try {
        text = JSON.stringify(response);
      } catch (error) {
        text = JSON.stringify({ ok: false, error: `cannot encode the answer: ${message(error)}` });
      }
      const bytes = new TextEncoder().encode(text + "\n");
      await connection.writeAll(bytes, performance.now() + this.#timeoutMs);
    } catch {
      // A client that stalls or goes away only loses its own answer.
    } finally {
      await connection.close().catch(() => {});
    }
  }

  /** Reads up to the first "\n" or end of file, at most MAX_REQUEST_BYTES, before `deadline`. */
  async #readRequest(
    connection: UnixStreamConnection,
    deadline: number,
  ): Promise<ReceivedRequest> {
    const buffer = new Uint8Array(MAX_REQUEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const count = await connection.read(buffer.subarray(length), deadline);
      if (count === 0) break;
      const newline = buffer.subarray(length, length + count).indexOf(0x0a);
      if (newline >= 0) {
        const text = new TextDecoder().decode(buffer.subarray(0, length + newline));
        return { text, terminated: true, tooLarge: false };
      }
      length += count;
    }
    if (length > MAX_REQUEST_BYTES) return { text: "", terminated: false, tooLarge: true };
    // A request ended by end of file (the client shut its side down) is still a request.
    return {
      text: new TextDecoder().decode(buffer.subarray(0, length)),
      terminated: false,
      tooLarge: false,
    };
  }

  async #answer(text: string, credentials: PeerCredentials): Promise<ControlResponse> {
    if (text.trim().length === 0) return { ok: false, error: "empty request" };
    const validation = validateControlRequest(text);
    if (!validation.ok) return { ok: false, error: validation.error };
    const { request } = validation;
    const denial = authorizeControlCommand(request.command, credentials.uid, this.#daemonUid);
    if (denial !== null) return { ok: false, error: denial };
    try {
      const response = await this.#handler(request, credentials);
      if (!isResponse(response)) {
        return { ok: false, error: `the daemon gave no answer to '${request.command}'` };
      }
      return response;
    } catch (error) {
      return { ok: false, error: message(error) };
    }
  }

  /**
   * Stops accepting, ends connections still waiting for their request, waits for answers in
   * flight (each bounded by the timeout), and removes the socket file if it is still ours.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      clearTimeout(this.#retryTimer);
      this.#wakeRetry?.();
      await this.#listener.close();
      for (const connection of this.#reading) connection.shutdown();
      await this.#loop;
      await Promise.all(this.#active);
      await this.#removeSocketFile();
    })();
    return this.#closed;
  }

  async #removeSocketFile(): Promise<void> {
    try {
      const info = await Deno.lstat(this.path);
      if (info.dev !== this.#fileId.dev || info.ino !== this.#fileId.ino) return;
      await Deno.remove(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
