import { assertEquals, assertThrows } from "../assert.ts";
import { resolveConfigDir } from "../../lib/config/config_dir.ts";
import { ConfigError } from "../../lib/errors.ts";

function resolveWith(
  options: { flag?: string; env?: Record<string, string>; uid?: number; cwd?: string },
) {
  return resolveConfigDir({
    flag: options.flag,
    env: (name) => options.env?.[name],
    uid: options.uid ?? 1000,
    cwd: options.cwd ?? "/work",
  });
}

Deno.test("config dir: --config beats MESHGUARD_CONFIG_DIR beats root beats XDG beats HOME", () => {
  const env = { MESHGUARD_CONFIG_DIR: "/env/mg", XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" };
  assertEquals(resolveWith({ flag: "/flag/mg", env, uid: 0 }), "/flag/mg");
  assertEquals(resolveWith({ env, uid: 0 }), "/env/mg");
  assertEquals(
    resolveWith({ env: { XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" }, uid: 0 }),
    "/etc/meshguard",
  );
  assertEquals(
    resolveWith({ env: { XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" } }),
    "/xdg/meshguard",
  );
  assertEquals(resolveWith({ env: { HOME: "/home/u" } }), "/home/u/.config/meshguard");
});

Deno.test("config dir: relative paths are made absolute; empty values are ignored", () => {
  assertEquals(resolveWith({ flag: "cfg", cwd: "/srv" }), "/srv/cfg");
  assertEquals(resolveWith({ flag: "/a/../b/" }), "/b");
  assertEquals(resolveWith({ flag: "/" }), "/");
  assertEquals(
    resolveWith({ env: { MESHGUARD_CONFIG_DIR: "", HOME: "/h" } }),
    "/h/.config/meshguard",
  );
  // A relative XDG_CONFIG_HOME is invalid per the XDG spec and falls through to HOME.
  assertEquals(
    resolveWith({ env: { XDG_CONFIG_HOME: "rel", HOME: "/h" } }),
    "/h/.config/meshguard",
  );
});

Deno.test("config dir: no HOME and nothing else is a clear error", () => {
  assertThrows(() => resolveWith({ env: {} }), ConfigError, /--config/);
});

Deno.test("config dir: uid and cwd are only consulted when needed", () => {
  const sources = {
    flag: "/explicit",
    env: () => undefined,
    get uid(): number {
      throw new Error("uid must not be read");
    },
    get cwd(): string {
      throw new Error("cwd must not be read");
    },
  };
  assertEquals(resolveConfigDir(sources), "/explicit");
});
