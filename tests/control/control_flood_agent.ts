/**
 * Subprocess of control_flood_test.ts, run as another user (nobody): keeps `count` connections
 * to the control socket open and silent, opening a new one whenever the server drops one or a
 * connect fails (full backlog), until its stdin closes or `seconds` pass. Prints `ready` once
 * every connection has been tried, and at exit one JSON line of counts.
 * Usage: control_flood_agent.ts <socket path> <count> <seconds>
 */

const [path, countText, secondsText] = Deno.args;
const count = Number(countText);
const until = performance.now() + Number(secondsText) * 1000;
const counts = { connected: 0, refused: 0, dropped: 0 };
let stopping = false;
const open = new Set<Deno.UnixConn>();

/** A pause between attempts, so the flood is steady rather than a busy loop. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function holdOne(first: () => void): Promise<void> {
  let tried = false;
  while (!stopping && performance.now() < until) {
    let connection: Deno.UnixConn;
    try {
      connection = await Deno.connect({ transport: "unix", path });
      counts.connected++;
    } catch {
      counts.refused++;
      if (!tried) first();
      tried = true;
      await pause(5);
      continue;
    }
    if (!tried) first();
    tried = true;
    open.add(connection);
    try {
      // Never send anything: wait for the server to give up on us.
      while (await connection.read(new Uint8Array(64)) !== null) { /* discard */ }
    } catch {
      // Reset by the server, or closed by us on exit.
    }
    open.delete(connection);
    try {
      connection.close();
    } catch {
      // already closed
    }
    counts.dropped++;
    await pause(5);
  }
}

let started = 0;
let announce: () => void;
const allTried = new Promise<void>((resolve) => announce = resolve);
const holders = Array.from({ length: count }, () =>
  holdOne(() => {
    if (++started === count) announce();
  }));
await allTried;
console.log("ready");
// The test closes our stdin when it is done; the time limit bounds a test that never does.
const stdinClosed = (async () => {
  for await (const _ of Deno.stdin.readable) { /* wait for end of file */ }
})();
let timer: ReturnType<typeof setTimeout> | undefined;
await Promise.race([
  stdinClosed,
  new Promise((resolve) => timer = setTimeout(resolve, Math.max(0, until - performance.now()))),
]);
clearTimeout(timer);
stopping = true;
for (const connection of open) {
  try {
    connection.close();
  } catch {
    // already closed
  }
}
await Promise.all(holders);
console.log(JSON.stringify(counts));
Deno.exit(0);
