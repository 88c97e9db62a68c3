import { assertTrue } from "../assert.ts";
import { interopSkipReason, Lab, runFor } from "./helpers/lab.ts";

const skip = interopSkipReason();

Deno.test({
  name: "interop (slow, ~140 s): traffic keeps flowing across the 120 s rekey with wireguard-go",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await Lab.create(["meshguard", "wireguard-go"]);
    try {
      await lab.ping(0, lab.sides[1].meshIpv4, 1);
      const firstHandshake = Number(
        (await lab.wg(0, "show", lab.sides[0].interfaceName, "latest-handshakes")).split("\t")[1],
      );
      // 140 pings one second apart: the session crosses REKEY_AFTER_TIME (120 s).
      const output = await runFor(
        180_000,
        "ip",
        "netns",
        "exec",
        lab.sides[0].namespace,
        "ping",
        "-c",
        "140",
        "-i",
        "1",
        "-W",
        "2",
        lab.sides[1].meshIpv4,
      ).catch((error) => String(error));
      const received = Number(output.match(/(\d+) received/)?.[1] ?? 0);
      assertTrue(received >= 138, `only ${received} of 140 pings answered:\n${output}`);
      const lastHandshake = Number(
        (await lab.wg(0, "show", lab.sides[0].interfaceName, "latest-handshakes")).split("\t")[1],
      );
      assertTrue(
        lastHandshake - firstHandshake >= 110,
        `no rekey: ${firstHandshake} → ${lastHandshake}`,
      );
    } finally {
      await lab.dispose();
    }
  },
});
