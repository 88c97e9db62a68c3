/**
 * The controller's HTTP API on top of `ControllerCore`: the proof of concept's paths and JSON
 * (errors as FastAPI's `{"detail": …}`), plus `/v1/peers/{id}`, `/v1/status`, `/metrics` and
 * the status page at `/`. Request → Response, so tests need no socket.
 */

import type { ControllerCore } from "./controller_core.ts";
import { ControllerRequestError } from "./controller_error.ts";
import { MAX_REPORT_BYTES, NODE_ID_PATTERN } from "./benchmark_report.ts";
import { STATUS_PAGE_HTML } from "./status_page.ts";

/** What the handler needs besides the core. */
export interface ControllerHttpOptions {
  /** Wall clock in ms (tests pass fake time). */
  now: () => number;
  /** Warnings worth an operator's eye (unsigned reports, refusals). */
  warn: (message: string) => void;
  info: (message: string) => void;
  /** Called after a rotation or a decision-changing request (the shell writes status.json). */
  onStateChange: () => void;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function detail(status: number, message: string): Response {
  return json({ detail: message }, status);
}

/** Reads at most MAX_REPORT_BYTES of the body; larger bodies are refused unread (413). */
async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_REPORT_BYTES) {
    throw new ControllerRequestError(413, `request body over ${MAX_REPORT_BYTES} bytes`);
  }
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > MAX_REPORT_BYTES) {
      throw new ControllerRequestError(413, `request body over ${MAX_REPORT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ControllerRequestError(400, "request body is not UTF-8");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ControllerRequestError(400, `request body is not JSON: ${why}`);
  }
}

function nodeIdOf(segment: string): string {
  const id = decodeURIComponent(segment);
  if (!NODE_ID_PATTERN.test(id)) {
    throw new ControllerRequestError(400, `"${segment.slice(0, 64)}" is not a node id`);
  }
  return id;
}

/** Builds the request handler for `Deno.serve`. */
export function createControllerHandler(
  core: ControllerCore,
  options: ControllerHttpOptions,
): (request: Request) => Promise<Response> {
  const route = async (request: Request): Promise<Response> => {
    const now = options.now();
    if (core.tick(now)) options.onStateChange();
    const { pathname } = new URL(request.url);
    const parts = pathname.split("/").filter((part) => part.length > 0);
    const method = request.method;
    const want = (expected: string) => {
      if (method !== expected) {
        throw new ControllerRequestError(405, `${pathname} takes ${expected}, not ${method}`);
      }
    };
    if (parts.length === 0) {
      want("GET");
      return new Response(STATUS_PAGE_HTML, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    const path = parts.join("/");
    if (path === "health") {
      want("GET");
      return json({ status: "ok", epoch_id: core.epoch.id });
    }
    if (path === "metrics") {
      want("GET");
      return new Response(core.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    if (path === "v1/epoch") {
      want("GET");
      return json(core.epochView());
    }
    if (path === "v1/status") {
      want("GET");
      return json({ ...core.status(true), now_ms: now });
    }
    if (path === "v1/rotate") {
      want("POST");
      const before = core.epoch.id;
      core.rotateNow(now);
      options.info(`rotation requested: epoch ${before} -> ${core.epoch.id}`);
      options.onStateChange();
      return json({ status: `rotate triggered: epoch ${core.epoch.id}`, epoch_id: core.epoch.id });
    }
    if (parts.length === 3 && parts[0] === "v1") {
      const id = nodeIdOf(parts[2]);
      switch (parts[1]) {
        case "benchmarks": {
          want("POST");
          const body = parseJson(await readBody(request));
          const before = core.membership(id);
          const result = core.submit(id, body, now);
          if (result.unsigned) {
            options.warn(
              `UNSIGNED report from ${id} accepted (--allow-unsigned): anyone can send it`,
            );
          }
          if (core.membership(id) !== before) options.onStateChange();
          return json(result.body);
        }
        case "config":
          want("GET");
          core.authorizeRead(id, request.headers.get("authorization"), pathname, now);
          return json(core.config(id));
        case "peers":
          want("GET");
          core.authorizeRead(id, request.headers.get("authorization"), pathname, now);
          return json(core.peers(id));
      }
    }
    throw new ControllerRequestError(404, `no such path: ${pathname}`);
  };
  return async (request) => {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof ControllerRequestError) {
        if (error.status !== 404 || !request.url.endsWith("favicon.ico")) {
          options.info(
            `refused ${request.method} ${
              new URL(request.url).pathname
            }: ${error.status} ${error.message}`,
          );
        }
        return detail(error.status, error.message);
      }
      options.warn(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      return detail(500, "internal error");
    }
  };
}
