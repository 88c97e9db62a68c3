import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { handleUapiRequest, UAPI_ERRNO, type UapiDevice } from "../../lib/wireguard/uapi.ts";
import { FakeNetwork, sendBetween } from "./engine_harness.ts";
import { primitives as p } from "./wireguard_fixture.ts";

async function device() {
  const network = new FakeNetwork();
  const host = await network.addHost("dev", "192.0.2.1:51820", "10.99.0.1");
  let port = 51820;
  let mark = 0;
  const uapi: UapiDevice = {
    engine: host.engine,
    listenPort: () => port,
    setListenPort: (value) => port = value,
    fwmark: () => mark,
    setFwmark: (value) => mark = value,
    now: () => network.now,
    wallClockAt: (t) => 1_700_000_000_000 + (t - 1_000_000),
  };
  const request = (text: string) => handleUapiRequest(uapi, text);
  return {
    network,
    host,
    uapi,
    request,
    get port() {
      return port;
    },
    get mark() {
      return mark;
    },
  };
}

const hex = (bytes: Uint8Array) => encodeHex(bytes);

Deno.test("uapi: set configures key, port, fwmark and peers; get renders them like wireguard-go", async () => {
  const d = await device();
  const privateKey = p.generatePrivateKey();
  const peerKey = p.publicKey(p.generatePrivateKey());
  const psk = p.randomBytes(32);
  const reply = d.request(
    [
      "set=1",
      `private_key=${hex(privateKey)}`,
      "listen_port=40000",
      "fwmark=7",
      `public_key=${hex(peerKey)}`,
      `preshared_key=${hex(psk)}`,
      "endpoint=[2001:db8::1]:51820",
      "persistent_keepalive_interval=25",
      "replace_allowed_ips=true",
      "allowed_ip=10.99.0.2/32",
      "allowed_ip=fd99:6d67::2/128",
      "",
      "",
    ].join("\n"),
  );
  assertEquals(reply, "errno=0\n\n");
  assertEquals([d.port, d.mark], [40000, 7]);
  assertEquals(d.host.engine.publicKey, p.publicKey(privateKey));
  const get = d.request("get=1\n\n")!;
  assertEquals(
    get,
    [
      `private_key=${hex(privateKey)}`,
      "listen_port=40000",
      "fwmark=7",
      `public_key=${hex(peerKey)}`,
      `preshared_key=${hex(psk)}`,
      "protocol_version=1",
      "endpoint=[2001:db8::1]:51820",
      "last_handshake_time_sec=0",
      "last_handshake_time_nsec=0",
      "tx_bytes=" + d.host.engine.peer(peerKey)!.txBytes,
      "rx_bytes=0",
      "persistent_keepalive_interval=25",
      "allowed_ip=10.99.0.2/32",
      "allowed_ip=fd99:6d67::2/128",
      "errno=0",
      "",
      "",
    ].join("\n"),
  );
});

Deno.test("uapi: handshake time and transfer counters come from the engine", async () => {
  const network = new FakeNetwork();
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  sendBetween(network, a, b);
  const uapi: UapiDevice = {
    engine: a.engine,
    listenPort: () => 51820,
    setListenPort: () => {},
    fwmark: () => 0,
    setFwmark: () => {},
    now: () => network.now,
    wallClockAt: (t) => t + 1_700_000_000_000,
  };
  const get = handleUapiRequest(uapi, "get=1\n\n")!;
  const peer = a.engine.peer(b.engine.publicKey)!;
  assertIncludes(
    get,
    `last_handshake_time_sec=${Math.floor((network.now + 1_700_000_000_000) / 1000)}`,
  );
  assertIncludes(get, `tx_bytes=${peer.txBytes}\nrx_bytes=${peer.rxBytes}\n`);
  assertTrue(peer.txBytes >= 148 + 32 + 60 && peer.rxBytes >= 92);
});

Deno.test("uapi: remove, replace_peers and update_only", async () => {
  const d = await device();
  const [k1, k2, k3] = [1, 2, 3].map(() => hex(p.publicKey(p.generatePrivateKey())));
  d.request(`set=1\npublic_key=${k1}\nallowed_ip=10.99.0.1/32\npublic_key=${k2}\n\n`);
  assertEquals(d.host.engine.peers().length, 2);
  d.request(`set=1\npublic_key=${k1}\nremove=true\n\n`);
  assertEquals(d.host.engine.peers().map((peer) => hex(peer.publicKey)), [k2]);
  d.request(`set=1\npublic_key=${k3}\nupdate_only=true\nallowed_ip=10.99.0.3/32\n\n`);
  assertEquals(d.host.engine.peers().length, 1); // update_only never creates
  d.request(`set=1\nreplace_peers=true\npublic_key=${k3}\n\n`);
  assertEquals(d.host.engine.peers().map((peer) => hex(peer.publicKey)), [k3]);
});

Deno.test("uapi: malformed input gives errno=-22 (EINVAL) or -71 (EPROTO); unknown ops close", async () => {
  const d = await device();
  const key = hex(p.publicKey(p.generatePrivateKey()));
  const cases: [string, number][] = [
    ["set=1\nprivate_key=zz\n\n", UAPI_ERRNO.EINVAL],
    ["set=1\nlisten_port=70000\n\n", UAPI_ERRNO.EINVAL],
    [`set=1\npublic_key=${key}\nendpoint=nowhere\n\n`, UAPI_ERRNO.EINVAL],
    [`set=1\npublic_key=${key}\nallowed_ip=10.0.0.0/33\n\n`, UAPI_ERRNO.EINVAL],
    [`set=1\npublic_key=${key}\nremove=yes\n\n`, UAPI_ERRNO.EINVAL],
    [`set=1\npublic_key=${key}\nbogus=1\n\n`, UAPI_ERRNO.EINVAL],
    ["set=1\nbogus=1\n\n", UAPI_ERRNO.EINVAL],
    ["set=1\nno equals sign\n\n", UAPI_ERRNO.EPROTO],
    [`set=1\npublic_key=${hex(d.host.engine.publicKey)}\n\n`, UAPI_ERRNO.EINVAL],
  ];
  for (const [request, errno] of cases) {
    assertEquals(d.request(request), `errno=-${errno}\n\n`, JSON.stringify(request));
  }
  assertEquals(d.request("frob=1\n\n"), null);
});
