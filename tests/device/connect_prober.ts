/**
 * Subprocess of uapi_private_test.ts, run as another user (nobody): for each socket path read
 * from stdin it tries to connect and prints one line, `connected` or the error's class name.
 * A connection that gets in is the attack itself: the backlog hands it to the server, whose
 * answer to `get=1` holds the private key.
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = pending.indexOf("\n")) >= 0) {
    const path = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    let outcome: string;
    try {
      const connection = await Deno.connect({ transport: "unix", path });
      connection.close();
      outcome = "connected";
    } catch (error) {
      outcome = error instanceof Error ? error.name : String(error);
    }
    await Deno.stdout.write(encoder.encode(outcome + "\n"));
  }
}
