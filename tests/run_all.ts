/**
 * Runs every test suite with exactly the permissions that suite needs, then prints one
 * plain summary line `N passed, N failed` (what CI reads).
 *
 * Usage: deno task test [suite...]   (no suite names = all suites)
 */

/** One group of test files that shares a permission set. */
interface Suite {
  name: string;
  /** Files or folders handed to `deno test`. */
  paths: string[];
  /** `--allow-*` flags; an empty list means the suite runs with no permissions at all. */
  permissions: string[];
  /** When set, the suite is skipped (with this reason printed) unless the predicate holds. */
  requires?: { check: () => boolean; reason: string };
}

const SUITES: Suite[] = [
  { name: "unit", paths: ["tests/unit/"], permissions: [] },
  { name: "vectors", paths: ["tests/vectors/"], permissions: ["--allow-read"] },
  // sys=uid: the ownership rule of the trust store allows root and the uid running the tests.
  {
    name: "fs",
    paths: ["tests/fs/"],
    permissions: ["--allow-read", "--allow-write", "--allow-sys=uid"],
  },
  { name: "wireguard", paths: ["tests/wireguard/"], permissions: ["--allow-read"] },
  // read: the wasm crypto core. Whole devices (engine and data path loops) on fake TUN queues,
  // a fake network and fake time, all in one thread: no root, no FFI.
  { name: "data_path", paths: ["tests/data_path/"], permissions: ["--allow-read"] },
  {
    name: "device",
    paths: ["tests/device/"],
    // run: sh (umask 000) and setpriv for the other-user probe of the UAPI socket (root only,
    // skipped inside otherwise); sys=uid: that root check.
    permissions: ["--allow-read", "--allow-write", "--allow-net", "--allow-run", "--allow-sys=uid"],
  },
  {
    name: "cli",
    paths: ["tests/cli/"],
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys=uid"],
  },
  {
    name: "control",
    paths: ["tests/control/"],
    // ffi: the control socket; net/read/write: unix clients; run: main.ts, and setpriv for the
    // other-uid test (root only, skipped inside otherwise); sys: uid/gid of the credentials.
    permissions: [
      "--allow-ffi",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-sys=uid,gid",
    ],
  },
  {
    name: "daemon",
    paths: ["tests/daemon/"],
    // run: `meshguard up --no-tun` and the CLI as subprocesses (loopback only, no root).
    permissions: ["--allow-run", "--allow-read", "--allow-write"],
  },
  // The admission controller (issue 15): read/write: SQLite databases, status.json, TLS files in
  // temp dirs; run: openssl (a test certificate) and `meshguard controller`; net: its HTTP(S)
  // on loopback.
  {
    name: "controller",
    paths: ["tests/controller/"],
    permissions: ["--allow-read", "--allow-write", "--allow-run", "--allow-net"],
  },
  // --allow-env=CI only because the in-process AssemblyScript rebuild probes that variable.
  { name: "crypto", paths: ["tests/crypto/"], permissions: ["--allow-read", "--allow-env=CI"] },
  // read=lib/swim: the import-cycle check reads the module sources (nothing else is read).
  { name: "swim", paths: ["tests/swim/"], permissions: ["--allow-read=lib/swim"] },
  // The partitioned simulator's worker threads. read: their module. --no-check: `deno test`
  // type-checks a worker's module graph with a lib under which every error class without its
  // own constructor takes no message (TS2554 on lib/swim), although `deno check` of the same
  // worker module with the worker lib passes; `deno task ok` type-checks these files.
  {
    name: "swim_threads",
    paths: ["tests/swim_threads/"],
    permissions: ["--allow-read=lib,tests/swim", "--no-check"],
  },
  // Whole nodes in process (fake time, simulated router and NATs); read: the wasm crypto core.
  { name: "mesh_sim", paths: ["tests/mesh_sim/"], permissions: ["--allow-read"] },
  // read: the wasm crypto core of the WireGuard targets. FUZZ_SEED/FUZZ_ITERATIONS are read
  // only when granted, so this suite always runs the constants (see tests/fuzz/fuzz_kit.ts).
  { name: "fuzz", paths: ["tests/fuzz/"], permissions: ["--allow-read"] },
  {
    name: "netns",
    paths: ["tests/netns/"],
    // ffi: the library under test; run: `ip` for setup and the agents; read: Deno.execPath
    // and the agent's sources; sys=uid: the in-file root check.
    permissions: ["--allow-ffi", "--allow-run", "--allow-read", "--allow-sys=uid"],
    requires: { check: () => Deno.uid() === 0, reason: "needs root for network namespaces" },
  },
  {
    name: "interop",
    paths: ["tests/interop/"],
    // run: ip/wg/ping/wireguard-go and our device in namespaces; write: key files.
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"],
    requires: { check: () => Deno.uid() === 0, reason: "needs root for network namespaces" },
  },
  {
    name: "packaging",
    paths: ["tests/packaging/"],
    // run: deno bundle, the bundle, and (root) ip/setpriv for the unit's command lines in a
    // namespace; read/write: the temporary bundle and config dirs; sys=uid: the root check.
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"],
  },
  {
    name: "mesh",
    paths: ["tests/mesh/"],
    // run: ip/wg/ping and `meshguard up`/status/down (each with its own permissions) in
    // namespaces; read: Deno.execPath, logs, /var/run/wireguard; write: config dirs, logs;
    // sys=uid: the in-file root check.
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-sys=uid"],
    requires: { check: () => Deno.uid() === 0, reason: "needs root for network namespaces" },
  },
  {
    name: "nat",
    paths: ["tests/nat_lab/"],
    // The NAT lab (`tests/nat_lab/helpers/nat_lab.ts`): run: ip/nft/conntrack/sysctl, coturn's
    // turnserver and the STUN probes in namespaces; read/write: rule files and coturn's log in a
    // temp dir; net: the probes' UDP (they run with their own --allow-net); sys=uid: the root check.
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-net", "--allow-sys=uid"],
    requires: { check: () => Deno.uid() === 0, reason: "needs root for network namespaces" },
  },
  {
    name: "soak",
    paths: ["tests/soak/"],
    // The mesh suite's permissions (24 daemons, ip/nft/ping/getconf in namespaces, /proc reads
    // for RSS and CPU); net: status is read straight off each control socket (Deno counts a
    // unix-socket connect as net access).
    permissions: ["--allow-run", "--allow-read", "--allow-write", "--allow-net", "--allow-sys=uid"],
    requires: { check: () => Deno.uid() === 0, reason: "needs root for network namespaces" },
  },
];

/** The counts parsed from one `deno test` summary line. */
interface Counts {
  passed: number;
  failed: number;
}

/** Reads deno's summary (`ok | 3 passed (2 steps) | 0 failed`) out of a suite's output. */
export function parseDenoSummary(output: string): Counts | null {
  // deno colours its output when stdout is a terminal; we force NO_COLOR, but stay safe.
  // deno-lint-ignore no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const matches = [...plain.matchAll(/^(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed/gm)];
  const last = matches.at(-1);
  if (!last) return null;
  return { passed: Number(last[1]), failed: Number(last[2]) };
}

async function runSuite(suite: Suite): Promise<Counts> {
  if (suite.requires && !suite.requires.check()) {
    console.log(`--- suite ${suite.name}: skipped (${suite.requires.reason})`);
    return { passed: 0, failed: 0 };
  }
  console.log(`--- suite ${suite.name}: deno test ${suite.permissions.join(" ")}`);
  const command = new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-prompt", ...suite.permissions, ...suite.paths],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  });
  const child = command.spawn();
  const decoder = new TextDecoder();
  let output = "";
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    output += text;
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  const counts = parseDenoSummary(output);
  if (counts === null) {
    // No summary means the suite did not even start (type error, bad import): count it.
    console.log(`--- suite ${suite.name}: no summary (exit ${status.code}), counted as 1 failure`);
    return { passed: 0, failed: 1 };
  }
  if (!status.success && counts.failed === 0) return { passed: counts.passed, failed: 1 };
  return counts;
}

if (import.meta.main) {
  const wanted = new Set(Deno.args);
  const unknown = [...wanted].filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(
      `error: unknown suite ${unknown.join(", ")}; suites: ${SUITES.map((s) => s.name)}`,
    );
    Deno.exit(2);
  }
  let passed = 0;
  let failed = 0;
  for (const suite of SUITES) {
    if (wanted.size > 0 && !wanted.has(suite.name)) continue;
    const counts = await runSuite(suite);
    passed += counts.passed;
    failed += counts.failed;
  }
  console.log(`${passed} passed, ${failed} failed`);
  Deno.exit(failed === 0 ? 0 : 1);
}
