/** `meshguard controller` as a real process: TLS, status.json, clear errors on bad flags. */

import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { join } from "node:path";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { signReport } from "../../lib/controller/report_signature.ts";
import { readSigner } from "../../lib/controller/request_auth.ts";
import { makeTestCertificates } from "./test_certificates.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-net"];

function controller(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...PERMISSIONS, "main.ts", "controller", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads stderr until a line matches (bounded), keeping the rest flowing into `log`. */
async function waitForLine(
  child: Deno.ChildProcess,
  pattern: RegExp,
  log: string[],
): Promise<RegExpMatchArray> {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`controller exited before ${pattern}:\n${log.join("")}${buffer}`);
      buffer += value;
      const match = buffer.match(pattern);
      if (match) {
        log.push(buffer);
        // Keep draining so the child never blocks on a full pipe.
        (async () => {
          for (;;) {
            const next = await reader.read().catch(() => ({ done: true, value: "" }));
            if (next.done) return;
            log.push(next.value as string);
          }
        })();
        return match;
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

Deno.test("controller process: HTTPS verified with the CA, signed report, status.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mg-controller-cli-" });
  const seed = new Uint8Array(32).fill(5);
  const identity = await identityFromSeed(seed);
  const nodesFile = join(dir, "nodes.json");
  await Deno.writeTextFile(
    nodesFile,
    JSON.stringify({ "node-a": encodeBase64(identity.publicKey) }),
  );
  const { ca, cert, key } = await makeTestCertificates(dir);
  const child = controller([
    "--nodes",
    nodesFile,
    "--db",
    join(dir, "controller.db"),
    "--listen",
    "127.0.0.1:0",
    "--tls-cert",
    cert,
    "--tls-key",
    key,
  ]);
  const log: string[] = [];
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca)] });
  try {
    const [, port] = await waitForLine(child, /listening on https:\/\/127\.0\.0\.1:(\d+)\//, log);
    const base = `https://127.0.0.1:${port}`;
    // Without the CA the certificate is refused.
    let refused = false;
    await fetch(`${base}/health`).then((r) => r.body?.cancel(), () => refused = true);
    assertTrue(refused, "a client without --controller-ca must not trust the certificate");
    const report = signReport({
      node_id: "node-a",
      timestamp: new Date().toISOString(),
      suite_version: "meshguard-0.1",
      scores: { overall: 0.93 },
    }, seed);
    const posted = await fetch(`${base}/v1/benchmarks/node-a`, {
      method: "POST",
      body: JSON.stringify(report),
      client,
    });
    assertEquals(posted.status, 200);
    await posted.body?.cancel();
    const unsignedRead = await fetch(`${base}/v1/config/node-a`, { client });
    assertEquals(unsignedRead.status, 401, "keys are only read signed");
    await unsignedRead.body?.cancel();
    const config = await (await fetch(`${base}/v1/config/node-a`, {
      client,
      headers: { authorization: readSigner(seed)("node-a", "/v1/config/node-a", Date.now()) },
    })).json();
    assertEquals(config.allowed, true);
    // status.json is written when the decision changed (atomically; poll briefly for the write).
    const statusPath = join(dir, "status.json");
    let status: { nodes: Record<string, { membership: string; last_benchmark?: unknown }> } | null =
      null;
    for (let i = 0; i < 100 && status?.nodes["node-a"].membership !== "ALLOWED"; i++) {
      status = JSON.parse(await Deno.readTextFile(statusPath));
      if (status?.nodes["node-a"].membership !== "ALLOWED") {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assertEquals(status!.nodes["node-a"].membership, "ALLOWED");
    assertEquals((status!.nodes["node-a"].last_benchmark as { overall: number }).overall, 0.93);
    assertEquals((await Deno.stat(join(dir, "controller.db"))).mode! & 0o777, 0o600);
  } finally {
    client.close();
    child.kill("SIGTERM");
    const code = (await child.status).code;
    await child.stdout.cancel();
    await Deno.remove(dir, { recursive: true });
    assertEquals(code, 0, log.join(""));
  }
});

Deno.test("controller process: bad flags and files are one clear line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mg-controller-cli-" });
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", ...PERMISSIONS, "main.ts", "controller", ...args],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const missing = await run([]);
    assertEquals(missing.code, 2);
    assertIncludes(missing.stderr, "--nodes FILE is required");
    const nodes = join(dir, "nodes.json");
    await Deno.writeTextFile(nodes, '{"node-a": "not a key"}');
    const badKey = await run(["--nodes", nodes]);
    assertEquals(badKey.code, 1);
    assertIncludes(badKey.stderr, `${nodes}: `);
    await Deno.writeTextFile(nodes, '{"node-a": null}');
    const unsigned = await run(["--nodes", nodes]);
    assertIncludes(unsigned.stderr, "needs its identity public key");
    const threshold = await run(["--nodes", nodes, "--threshold", "2"]);
    assertEquals(threshold.code, 2);
    assertIncludes(threshold.stderr, "--threshold must be a number 0-1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("up --controller: flag mistakes are usage errors before anything starts", async () => {
  const up = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        // What config-dir resolution needs; the flag errors come before anything else.
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "main.ts",
        "up",
        "--config",
        "/nonexistent",
        ...args,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const cases: [string[], string][] = [
    [["--score-file", "s.json"], "--score-file needs --controller URL"],
    [["--controller", "ftp://x"], "--controller must be an http(s) URL"],
    [["--controller", "http://x"], "exactly one of --score-command CMD, --score-file FILE"],
    [
      ["--controller", "http://x", "--score-mock", "0.9", "--score-file", "f"],
      "exactly one of",
    ],
    [["--controller", "http://x", "--score-mock", "2"], "--score-mock must be a mean score 0-1"],
    [
      ["--controller", "http://x", "--score-mock", "0.9", "--controller-node-id", "a/b"],
      "is not a node id",
    ],
  ];
  for (const [args, message] of cases) {
    const result = await up(args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertIncludes(result.stderr, message);
  }
});
