/**
 * The node agent against a real HTTPS controller on loopback: it verifies the certificate with
 * `--controller-ca`, submits signed reports the controller accepts, and hands the daemon each
 * allowed peer's pairwise PSK; without the CA it trusts nothing and admits nobody.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { ControllerCore } from "../../lib/controller/controller_core.ts";
import { MemoryControllerStore } from "../../lib/controller/controller_store.ts";
import { createControllerHandler } from "../../lib/controller/controller_http.ts";
import { ControllerAgent } from "../../lib/controller/controller_agent.ts";
import { reportSigner, signReport } from "../../lib/controller/report_signature.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { decodeBase64Strict, encodeBase64 } from "../../lib/encoding/base64.ts";
import { Logger } from "../../lib/log/logger.ts";
import { readSigner } from "../../lib/controller/request_auth.ts";
import { makeTestCertificates } from "./test_certificates.ts";

Deno.test({
  name: "agent: HTTPS with the CA, signed reports, pairwise PSKs handed over; no CA → nobody",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mg-agent-" });
    const { ca, cert, key } = await makeTestCertificates(dir);
    const seeds = [new Uint8Array(32).fill(31), new Uint8Array(32).fill(32)];
    const [a, b] = await Promise.all(seeds.map(identityFromSeed));
    const core = new ControllerCore({
      nodes: new Map([["node-a", a.publicKey], ["node-b", b.publicKey]]),
      policy: { threshold: 0.7, maxAgeSeconds: 120 },
      limits: { skewSeconds: 30, reportsPerMinute: 100 },
      epochSeconds: 60,
      allowUnsigned: false,
      store: new MemoryControllerStore(),
      random: (bytes) => crypto.getRandomValues(bytes),
    }, Date.now());
    core.submit(
      "node-b",
      signReport({
        node_id: "node-b",
        timestamp: new Date().toISOString(),
        suite_version: "t",
        scores: { overall: 0.9 },
      }, seeds[1]),
      Date.now(),
    );
    const server = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(cert),
        key: await Deno.readTextFile(key),
        onListen: () => {},
      },
      createControllerHandler(core, {
        now: Date.now,
        warn: () => {},
        info: () => {},
        onStateChange: () => {},
      }),
    );
    const url = `https://127.0.0.1:${server.addr.port}`;
    const run = async (caCert: string | undefined, wanted: (size: number) => boolean) => {
      const lines: string[] = [];
      let resolve!: (admitted: Map<Uint8Array, Uint8Array>) => void;
      const admittedOnce = new Promise<Map<Uint8Array, Uint8Array>>((r) => resolve = r);
      const agent = new ControllerAgent({
        url,
        caCert,
        nodeId: "node-a",
        sign: reportSigner(seeds[0]),
        signRead: readSigner(seeds[0]),
        scores: () => Promise.resolve({ scores: { overall: 0.95 }, suiteVersion: "t" }),
        reportMs: 100,
        pollMs: 100,
        failOpen: false,
        log: new Logger("debug", (line) => lines.push(line)),
        onAdmitted: (admitted) => {
          if (wanted(admitted.size)) resolve(admitted);
        },
      });
      agent.start();
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no admission in 10 s:\n${lines.join("\n")}`)), 10_000)
      );
      try {
        const admitted = await Promise.race([admittedOnce, timeout]);
        return { admitted, lines, status: agent.status(Date.now()) };
      } finally {
        agent.stop();
      }
    };
    try {
      const { admitted, status } = await run(await Deno.readTextFile(ca), (size) => size > 0);
      assertEquals(core.membership("node-a"), "ALLOWED");
      // What `status` shows: reachable, a poll just now, the live epoch, one peer, no denial.
      assertEquals([status.url, status.node_id, status.reachable], [url, "node-a", true]);
      assertTrue(status.last_poll !== null && Date.now() - Date.parse(status.last_poll) < 10_000);
      assertEquals([status.last_error, status.denied, status.admitted], [null, null, 1]);
      assertTrue(typeof status.epoch === "number", `epoch: ${status.epoch}`);
      const [[wireguardKey, psk]] = [...admitted];
      assertEquals(encodeBase64(wireguardKey), encodeBase64(wireguardPublicKeyOf(b.publicKey)));
      const expected = core.config("node-b").peer_psks!["node-a"];
      assertEquals(psk, decodeBase64Strict(expected));

      // Without the CA the controller's certificate is refused: nothing admitted, said why.
      const untrusted = await run(undefined, (size) => size === 0);
      assertEquals(untrusted.admitted.size, 0);
      assertEquals([untrusted.status.reachable, untrusted.status.last_poll], [false, null]);
      assertTrue(untrusted.status.last_error !== null, "no poll error shown");
      assertEquals(untrusted.status.denied, "not allowed: no answer from the controller yet");
      assertEquals([untrusted.status.epoch, untrusted.status.admitted], [null, 0]);
      assertTrue(
        untrusted.lines.some((line) => line.includes("controller unreachable")),
        untrusted.lines.join("\n"),
      );
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
