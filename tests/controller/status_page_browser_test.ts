/**
 * The status page in a real headless browser (Debian's `chromium`), driven over the DevTools
 * protocol with Deno's own WebSocket: the page lists the nodes with membership and score, plots
 * their history, and updates by itself after a new report. Skipped (with a reason) when
 * chromium is not installed.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { ControllerCore } from "../../lib/controller/controller_core.ts";
import { MemoryControllerStore } from "../../lib/controller/controller_store.ts";
import { createControllerHandler } from "../../lib/controller/controller_http.ts";
import { signReport } from "../../lib/controller/report_signature.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});
if (!CHROMIUM) console.log("status page browser test skipped: apt-get install -y chromium");

/** A DevTools protocol session on one page target. */
class DevTools {
  #next = 1;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#pending.get(message.id)?.(message);
      this.#pending.delete(message.id);
    };
  }

  static async connect(url: string): Promise<DevTools> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return new DevTools(socket);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10_000);
      this.#pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
        else resolve(message.result as Record<string, unknown>);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an expression in the page and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true });
    return (result.result as { value: T }).value;
  }
}

/** Polls `probe` (every 100 ms, at most `ms`) until it returns true. */
async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test({
  name: "status page: renders nodes, scores and plots in chromium, and updates after a report",
  ignore: CHROMIUM === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seeds = [new Uint8Array(32).fill(21), new Uint8Array(32).fill(22)];
    const identities = await Promise.all(seeds.map(identityFromSeed));
    const core = new ControllerCore({
      nodes: new Map([["node-a", identities[0].publicKey], ["node-b", identities[1].publicKey]]),
      policy: { threshold: 0.7, maxAgeSeconds: 120 },
      limits: { skewSeconds: 30, reportsPerMinute: 100 },
      epochSeconds: 60,
      allowUnsigned: false,
      store: new MemoryControllerStore(),
      random: (bytes) => crypto.getRandomValues(bytes),
    }, Date.now());
    const report = (index: number, overall: number) =>
      core.submit(
        ["node-a", "node-b"][index],
        signReport({
          node_id: ["node-a", "node-b"][index],
          timestamp: new Date().toISOString(),
          suite_version: "browser",
          scores: { overall },
        }, seeds[index]),
        Date.now(),
      );
    report(0, 0.91);
    const handler = createControllerHandler(core, {
      now: Date.now,
      warn: () => {},
      info: () => {},
      onStateChange: () => {},
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    const pageUrl = `http://127.0.0.1:${server.addr.port}/`;
    const profile = await Deno.makeTempDir({ prefix: "mg-chromium-" });
    const browser = new Deno.Command(CHROMIUM!, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let tools: DevTools | null = null;
    try {
      // Chromium prints its DevTools endpoint on stderr.
      const reader = browser.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const endpoint = await (async () => {
        const deadline = setTimeout(() => browser.kill("SIGKILL"), 30_000);
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`chromium exited: ${seen}`);
            seen += value;
            const match = seen.match(/DevTools listening on (ws:\/\/[^\s]+)/);
            if (match) return match[1];
          }
        } finally {
          clearTimeout(deadline);
        }
      })();
      (async () => { // keep draining so chromium never blocks on stderr
        while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();
      const http = endpoint.replace(/^ws:\/\/([^/]+)\/.*$/, "http://$1");
      const target =
        await (await fetch(`${http}/json/new?${encodeURI(pageUrl)}`, { method: "PUT" }))
          .json();
      tools = await DevTools.connect(target.webSocketDebuggerUrl);
      await tools.send("Runtime.enable");
      const rows = () =>
        tools!.evaluate<{ node: string; membership: string; score: string; points: number }[]>(
          `[...document.querySelectorAll("#nodes tr")].map((row) => ({
            node: row.dataset.node,
            membership: row.querySelector('[data-field="membership"]').textContent,
            score: row.querySelector('[data-field="score"]').textContent,
            points: (row.querySelector("polyline")?.getAttribute("points") ?? "").split(" ")
              .filter(Boolean).length,
          }))`,
        );
      await until(async () => (await rows()).length === 2, 15_000, "the page to list two nodes");
      assertEquals(await rows(), [
        { node: "node-a", membership: "ALLOWED", score: "0.910", points: 1 },
        { node: "node-b", membership: "UNKNOWN", score: "–", points: 0 },
      ]);
      const epochLine = await tools.evaluate<string>(
        `document.getElementById("epoch").textContent`,
      );
      assertTrue(/^epoch 1, expires .*Z \(in \d+ s\), threshold 0\.70$/.test(epochLine), epochLine);

      // New reports: the page refreshes by itself (every 2 s).
      report(1, 0.42);
      report(0, 0.88);
      await until(
        async () => (await rows())[1]?.membership === "DENIED",
        10_000,
        "the page to show node-b's report",
      );
      assertEquals(await rows(), [
        { node: "node-a", membership: "ALLOWED", score: "0.880", points: 2 },
        { node: "node-b", membership: "DENIED", score: "0.420", points: 1 },
      ]);
    } finally {
      tools?.socket.close();
      browser.kill("SIGKILL");
      await browser.status;
      await server.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
