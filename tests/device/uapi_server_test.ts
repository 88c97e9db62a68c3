import { join } from "node:path";
import { assertEquals, assertRejects } from "../assert.ts";
import { UapiServer, UapiSocketError } from "../../lib/device/uapi_server.ts";

async function exchange(path: string, request: string): Promise<string> {
  const connection = await Deno.connect({ transport: "unix", path });
  try {
    await connection.write(new TextEncoder().encode(request));
    let text = "";
    const chunk = new Uint8Array(4096);
    while (!text.endsWith("\n\n")) {
      const read = await connection.read(chunk);
      if (read === null) break;
      text += new TextDecoder().decode(chunk.subarray(0, read));
    }
    return text;
  } finally {
    connection.close();
  }
}

Deno.test("uapi socket: 0600 in a 0755 dir, answers requests, refuses a live duplicate, cleans up", async () => {
  const root = await Deno.makeTempDir({ prefix: "meshguard-uapi-" });
  const path = join(root, "wireguard", "mgtest0.sock");
  const seen: string[] = [];
  const server = await UapiServer.listen(path, (request) => {
    seen.push(request);
    return Promise.resolve(request.startsWith("get=1") ? "listen_port=1\nerrno=0\n\n" : null);
  });
  try {
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(join(root, "wireguard"))).mode! & 0o777, 0o755);
    assertEquals(await exchange(path, "get=1\n\n"), "listen_port=1\nerrno=0\n\n");
    assertEquals(await exchange(path, "bogus=1\n\n"), ""); // closed without an answer
    assertEquals(seen, ["get=1\n", "bogus=1\n"]);
    await assertRejects(
      () => UapiServer.listen(path, () => Promise.resolve(null)),
      UapiSocketError,
    );
  } finally {
    await server.close();
  }
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  // A stale socket file (no one listening) is replaced.
  const stale = Deno.listen({ transport: "unix", path });
  stale.close();
  const again = await UapiServer.listen(path, () => Promise.resolve("errno=0\n\n"));
  assertEquals(await exchange(path, "get=1\n\n"), "errno=0\n\n");
  await again.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("uapi socket: a directory others may write to is refused, naming the fix", async () => {
  const root = await Deno.makeTempDir({ prefix: "meshguard-uapi-" });
  try {
    const directory = join(root, "wireguard");
    await Deno.mkdir(directory);
    await Deno.chmod(directory, 0o777);
    const path = join(directory, "mgtest0.sock");
    await assertRejects(
      () => UapiServer.listen(path, () => Promise.resolve(null)),
      UapiSocketError,
      new RegExp(`other users may replace files there \\(mode 0777\\); fix it with: chmod go-w`),
    );
    await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    // Sticky, like /tmp: others cannot remove our entries, so it is fine.
    await Deno.chmod(directory, 0o1777);
    const server = await UapiServer.listen(path, () => Promise.resolve("errno=0\n\n"));
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    await server.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
