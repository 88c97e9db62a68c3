/**
 * Subprocess of uapi_private_test.ts, run as root with umask 000 (the worst case): starts a
 * UapiServer and, before every filesystem call the server makes and once it is serving, asks a
 * prober running as nobody to connect to every socket file under the socket's directory. Each
 * call is where the filesystem can change, so together the probes see every state another user
 * could have met. Prints one JSON line: `{probes, breaches, refusals, positiveControl, answer}`.
 * Usage: uapi_listen_agent.ts <socket path> <deno dir for nobody>
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UapiServer } from "../../lib/device/uapi_server.ts";
import { nobodyAgent } from "../as_nobody.ts";

const PROBER = fileURLToPath(new URL("./connect_prober.ts", import.meta.url));
const [path, denoDir] = Deno.args;

const prober = nobodyAgent(PROBER, [], denoDir, {
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const proberIn = prober.stdin.getWriter();
const proberOut = prober.stdout.pipeThrough(new TextDecoderStream()).getReader();
let buffered = "";

async function proberLine(): Promise<string> {
  for (;;) {
    const newline = buffered.indexOf("\n");
    if (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      return line;
    }
    const { value, done } = await proberOut.read();
    if (done) throw new Error("the prober exited");
    buffered += value;
  }
}

const real = {
  readDir: Deno.readDir,
  lstat: Deno.lstat,
};

async function socketsUnder(directory: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of real.readDir(directory)) {
      const full = join(directory, entry.name);
      if (entry.isDirectory) found.push(...await socketsUnder(full));
      else if ((await real.lstat(full)).isSocket) found.push(full);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}

let probes = 0;
const breaches: { before: string; path: string }[] = [];
/** Every way a probe failed: only "the socket keeps others out" kinds count as safe. */
const refusals = new Set<string>();

async function probe(before: string): Promise<void> {
  for (const socket of new Set([path, ...await socketsUnder(dirname(path))])) {
    await proberIn.write(new TextEncoder().encode(socket + "\n"));
    const outcome = await proberLine();
    probes++;
    if (outcome === "connected") breaches.push({ before, path: socket });
    else refusals.add(outcome);
  }
}

// Every async filesystem call the server could make goes through a probe first.
const patched = [
  "chmod",
  "link",
  "rename",
  "remove",
  "mkdir",
  "makeTempDir",
  "lstat",
  "stat",
  "connect",
] as const;
const deno = Deno as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
const originals = new Map(patched.map((name) => [name, deno[name]]));
for (const name of patched) {
  const original = originals.get(name)!;
  deno[name] = async (...args: unknown[]) => {
    await probe(name);
    return await original(...args);
  };
}

const server = await UapiServer.listen(
  path,
  (request) =>
    Promise.resolve(
      request.startsWith("get=1") ? `private_key=${"ab".repeat(32)}\nerrno=0\n\n` : null,
    ),
);
for (const [name, original] of originals) deno[name] = original;
await probe("serving");

// The owner still gets its answer.
const connection = await Deno.connect({ transport: "unix", path });
await connection.write(new TextEncoder().encode("get=1\n\n"));
let answer = "";
const chunk = new Uint8Array(4096);
while (!answer.endsWith("\n\n")) {
  const read = await connection.read(chunk);
  if (read === null) break;
  answer += new TextDecoder().decode(chunk.subarray(0, read));
}
connection.close();
// Positive control: a socket others may use (0666) beside it, which the prober must get into;
// otherwise every refusal above could be the prober failing for another reason.
const controlPath = join(dirname(path), "control.sock");
const control = Deno.listen({ transport: "unix", path: controlPath });
await Deno.chmod(controlPath, 0o666);
await proberIn.write(new TextEncoder().encode(controlPath + "\n"));
const positiveControl = await proberLine();
control.close();
await Deno.remove(controlPath).catch(() => {});
await server.close();
await proberIn.close();
await prober.status;
console.log(
  JSON.stringify({ probes, breaches, refusals: [...refusals].sort(), positiveControl, answer }),
);
