/** `wg`'s UAPI `set` text parsed into the typed device configuration the daemon uses. */

import { assertEquals, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { parseIpv4, parseIpv6 } from "../../lib/net/ip_address.ts";
import {
  type DeviceConfig,
  DeviceConfigError,
  type DeviceConfigFailure,
} from "../../lib/wireguard/device_config.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { parseUapiSet, UAPI_ERRNO, UapiError } from "../../lib/wireguard/uapi.ts";
import { applyDeviceConfig } from "../../lib/wireguard/device_config.ts";
import { uapiText } from "../peer_change_text.ts";
import { FakeNetwork } from "./engine_harness.ts";

const K1 = new Uint8Array(32).fill(1);
const K2 = new Uint8Array(32).fill(2);
const PSK = new Uint8Array(32).fill(9);

function parse(text: string) {
  return parseUapiSet(text.split("\n"));
}

Deno.test("uapi parse: every device and peer key becomes its typed field", () => {
  const config = parse(
    [
      `private_key=${encodeHex(K2)}`,
      "listen_port=51820",
      "fwmark=4294967295",
      "replace_peers=true",
      `public_key=${encodeHex(K1)}`,
      "update_only=true",
      `preshared_key=${encodeHex(PSK)}`,
      "endpoint=[2001:db8::1]:51820",
      "persistent_keepalive_interval=65535",
      "replace_allowed_ips=true",
      "allowed_ip=10.99.0.0/16",
      "allowed_ip=fd99:6d67::1",
      "protocol_version=1",
      `public_key=${encodeHex(K2)}`,
      "remove=true",
      "bogus-after-remove-is-skipped=1",
      "",
      "ignored=after the blank line",
    ].join("\n"),
  );
  assertEquals(config, {
    privateKey: K2,
    listenPort: 51820,
    fwmark: 0xffffffff,
    replacePeers: true,
    peers: [
      {
        kind: "upsert",
        publicKey: K1,
        updateOnly: true,
        presharedKey: PSK,
        endpoint: parseEndpoint("[2001:db8::1]:51820"),
        persistentKeepalive: 65535,
        replaceAllowedIps: true,
        allowedIps: [
          { address: parseIpv4("10.99.0.0")!, cidr: 16 },
          { address: parseIpv6("fd99:6d67::1")!, cidr: 128 },
        ],
      },
      { kind: "remove", publicKey: K2 },
    ],
  });
  assertEquals(parse(""), {});
  // A bare public_key creates the peer (as wireguard-go).
  assertEquals(parse(`public_key=${encodeHex(K1)}\n`), {
    peers: [{ kind: "upsert", publicKey: K1 }],
  });
});

Deno.test("uapi parse: a repeated or out-of-order setting opens a second change of the peer", () => {
  // The daemon's keepalive restart: 0 then 25 must both happen, in that order, after the endpoint.
  const config = parse(
    `public_key=${encodeHex(K1)}\nupdate_only=true\nendpoint=192.0.2.1:1\n` +
      "persistent_keepalive_interval=0\npersistent_keepalive_interval=25\n" +
      "allowed_ip=10.99.0.1/32\nreplace_allowed_ips=true\nallowed_ip=10.99.0.2/32\n",
  );
  assertEquals(config.peers, [
    {
      kind: "upsert",
      publicKey: K1,
      updateOnly: true,
      endpoint: parseEndpoint("192.0.2.1:1"),
      persistentKeepalive: 0,
    },
    {
      kind: "upsert",
      publicKey: K1,
      updateOnly: true,
      persistentKeepalive: 25,
      allowedIps: [{ address: parseIpv4("10.99.0.1")!, cidr: 32 }],
    },
    {
      kind: "upsert",
      publicKey: K1,
      updateOnly: true,
      replaceAllowedIps: true,
      allowedIps: [{ address: parseIpv4("10.99.0.2")!, cidr: 32 }],
    },
  ]);
  // The typed changes render back to text that parses to them again.
  assertEquals(parse(uapiText(config.peers!)).peers, config.peers);
});

Deno.test("uapi parse: bad input is a UapiError with wireguard-go's errno, nothing parsed half", () => {
  const key = encodeHex(K1);
  const cases: [string, number][] = [
    ["no equals sign", UAPI_ERRNO.EPROTO],
    ["=value", UAPI_ERRNO.EPROTO],
    ["private_key=zz", UAPI_ERRNO.EINVAL],
    [`private_key=${"AB".repeat(32)}`, UAPI_ERRNO.EINVAL],
    [`private_key=${key}00`, UAPI_ERRNO.EINVAL],
    ["listen_port=65536", UAPI_ERRNO.EINVAL],
    ["listen_port=-1", UAPI_ERRNO.EINVAL],
    ["fwmark=4294967296", UAPI_ERRNO.EINVAL],
    ["replace_peers=false", UAPI_ERRNO.EINVAL],
    ["endpoint=192.0.2.1:1", UAPI_ERRNO.EINVAL], // a peer key before any public_key
    ["bogus=1", UAPI_ERRNO.EINVAL],
    ["public_key=", UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nupdate_only=yes`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nremove=1`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\npreshared_key=00`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nendpoint=nowhere`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nendpoint=192.0.2.1:0`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\npersistent_keepalive_interval=65536`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nreplace_allowed_ips=1`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nallowed_ip=10.0.0.0/33`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nallowed_ip=fd99::/129`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nallowed_ip=10.0.0.300/8`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nprotocol_version=2`, UAPI_ERRNO.EINVAL],
    [`public_key=${key}\nprivate_key=${key}`, UAPI_ERRNO.EINVAL],
  ];
  for (const [text, errno] of cases) {
    let caught: unknown = null;
    try {
      parse(text);
    } catch (error) {
      caught = error;
    }
    assertTrue(caught instanceof UapiError, `${JSON.stringify(text)} parsed`);
    assertEquals((caught as UapiError).errno, errno, JSON.stringify(text));
  }
});

Deno.test("uapi parse: applying the parsed text equals applying the typed changes", async () => {
  const network = new FakeNetwork();
  const a = await network.addHost("a", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("b", "192.0.2.2:51820", "10.99.0.2");
  const device = (engine: typeof a.engine) => ({
    engine,
    listenPort: () => 1,
    setListenPort: () => {},
    fwmark: () => 0,
    setFwmark: () => {},
    now: () => network.now,
    wallClockAt: (t: number) => t,
  });
  const text =
    `public_key=${encodeHex(K1)}\nendpoint=192.0.2.9:9\npersistent_keepalive_interval=25\n` +
    "replace_allowed_ips=true\nallowed_ip=10.99.5.5/32\n";
  const typed = parse(text);
  applyDeviceConfig(device(a.engine), typed);
  applyDeviceConfig(device(b.engine), { peers: typed.peers });
  const rendered = (engine: typeof a.engine) =>
    engine.peers().filter((peer) => encodeHex(peer.publicKey) === encodeHex(K1)).map((peer) => ({
      endpoint: peer.endpoint,
      keepalive: peer.persistentKeepalive,
      routes: engine.allowedIps.entriesOf(peer),
    }));
  assertEquals(rendered(a.engine), rendered(b.engine));
  assertEquals(rendered(a.engine)[0].keepalive, 25);
  // Typed failures: own key and bad addresses are DeviceConfigErrors with a reason.
  for (
    const [config, failure] of [
      [{ peers: [{ kind: "upsert" as const, publicKey: a.engine.publicKey }] }, "own-key"],
      [{
        peers: [{
          kind: "upsert" as const,
          publicKey: K2,
          allowedIps: [{ address: new Uint8Array(5), cidr: 8 }],
        }],
      }, "allowed-ip"],
    ] as [DeviceConfig, DeviceConfigFailure][]
  ) {
    let caught: unknown = null;
    try {
      applyDeviceConfig(device(a.engine), config);
    } catch (error) {
      caught = error;
    }
    assertTrue(caught instanceof DeviceConfigError, failure);
    assertEquals((caught as DeviceConfigError).failure, failure);
  }
});
