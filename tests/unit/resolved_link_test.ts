/** systemd-resolved registration: the resolvectl calls, their undo, and failures that only warn. */

import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { Logger } from "../../lib/log/logger.ts";
import { type CommandRunner, registerWithResolved } from "../../lib/daemon/resolved_link.ts";

function recorder(fail: (args: string[]) => boolean | "throw" = () => false) {
  const calls: string[] = [];
  const run: CommandRunner = (command, args) => {
    calls.push(`${command} ${args.join(" ")}`);
    const outcome = fail(args);
    if (outcome === "throw") return Promise.reject(new Error("Requires run access"));
    return Promise.resolve({ ok: !outcome, stderr: outcome ? "Link mg0 not known" : "" });
  };
  return { calls, run };
}

function logger() {
  const lines: string[] = [];
  return { lines, log: new Logger("debug", (line) => lines.push(line)) };
}

Deno.test("resolved: DNS server and routing domains on the interface, reverted by the undo", async () => {
  const { calls, run } = recorder();
  const { lines, log } = logger();
  const undo = await registerWithResolved("mg0", ["10.99.1.2", "fd99:6d67::1:2"], log, run);
  assertEquals(calls, [
    "resolvectl dns mg0 10.99.1.2 fd99:6d67::1:2",
    "resolvectl domain mg0 ~mesh ~99.10.in-addr.arpa ~0.0.0.0.0.0.0.0.7.6.d.6.9.9.d.f.ip6.arpa",
    "resolvectl nta mg0 mesh 99.10.in-addr.arpa 0.0.0.0.0.0.0.0.7.6.d.6.9.9.d.f.ip6.arpa",
  ]);
  assertIncludes(lines.join("\n"), "systemd-resolved sends .mesh queries on mg0");
  assertTrue(undo !== null, "no undo");
  await undo!();
  assertEquals(calls.at(-1), "resolvectl revert mg0");
});

Deno.test("resolved: a failing or forbidden resolvectl warns, reverts what it did, returns no undo", async () => {
  const failing = recorder((args) => args[0] === "domain");
  const first = logger();
  assertEquals(await registerWithResolved("mg0", ["10.99.1.2"], first.log, failing.run), null);
  assertEquals(failing.calls.at(-1), "resolvectl revert mg0");
  assertIncludes(first.lines.join("\n"), "Link mg0 not known");
  assertIncludes(first.lines.join("\n"), "ask 10.99.1.2 directly");

  const forbidden = recorder(() => "throw");
  const second = logger();
  assertEquals(await registerWithResolved("mg0", ["10.99.1.2"], second.log, forbidden.run), null);
  assertIncludes(second.lines.join("\n"), "cannot run resolvectl (Requires run access)");
});
