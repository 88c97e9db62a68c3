import { assertEquals, assertThrows } from "../assert.ts";
import { parseNodesFile } from "../../lib/controller/controller_nodes.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { encodeBase64 } from "../../lib/encoding/base64.ts";
import { ConfigError } from "../../lib/errors.ts";

const key = encodeBase64((await identityFromSeed(new Uint8Array(32).fill(4))).publicKey);

Deno.test("nodes file: ids map to identity keys; null only with --allow-unsigned", () => {
  const nodes = parseNodesFile(JSON.stringify({ "node-a": key, "node-b": null }), "n.json", true);
  assertEquals([...nodes.keys()], ["node-a", "node-b"]);
  assertEquals(nodes.get("node-b"), null);
  assertEquals(encodeBase64(nodes.get("node-a")!), key);
  assertThrows(
    () => parseNodesFile(JSON.stringify({ "node-b": null }), "n.json", false),
    ConfigError,
    /n\.json: node "node-b" needs its identity public key \(base64\)$/,
  );
});

Deno.test("nodes file: bad input names the file and the entry", () => {
  const cases: [string, RegExp][] = [
    ["{", /n\.json is not JSON/],
    ["[]", /must be a JSON object/],
    ["{}", /lists no nodes/],
    [JSON.stringify({ "../x": key }), /"\.\.\/x" is not a node id/],
    [JSON.stringify({ "node-a": "AAAA" }), /^n\.json: .*node-a/],
  ];
  for (const [text, pattern] of cases) {
    assertThrows(() => parseNodesFile(text, "n.json", false), ConfigError, pattern);
  }
});
