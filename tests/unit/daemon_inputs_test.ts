/** What the daemon reads from the system: interface addresses and the device's `get=1`. */

import { assertEquals } from "../assert.ts";
import { advertisedEndpoints, type InterfaceAddress } from "../../lib/daemon/local_endpoints.ts";
import { AddressWatch } from "../../lib/daemon/address_watch.ts";
import { parseDeviceSnapshot } from "../device_snapshot.ts";

Deno.test("advertised endpoints leave out loopback, link-local, mesh ranges and the mesh link", () => {
  const endpoints = advertisedEndpoints(
    [
      { name: "lo", family: "IPv4", address: "127.0.0.1" },
      { name: "lo", family: "IPv6", address: "::1" },
      { name: "eth0", family: "IPv6", address: "fe80::1" },
      { name: "eth0", family: "IPv6", address: "2001:db8::5" },
      { name: "eth0", family: "IPv4", address: "192.0.2.5" },
      { name: "mg0", family: "IPv4", address: "10.99.3.4" },
      { name: "other", family: "IPv4", address: "10.99.8.8" },
      { name: "other", family: "IPv6", address: "fd99:6d67::1" },
      { name: "eth1", family: "IPv4", address: "169.254.1.1" },
      { name: "eth1", family: "IPv4", address: "198.51.100.5" },
      { name: "eth2", family: "IPv4", address: "203.0.113.5" },
      { name: "eth3", family: "IPv4", address: "203.0.113.6" },
      { name: "eth4", family: "IPv4", address: "203.0.113.7" },
    ],
    51821,
    "mg0",
  );
  // IPv4 first, at most four (what a signed record carries).
  assertEquals(endpoints, [
    "192.0.2.5:51821",
    "198.51.100.5:51821",
    "203.0.113.5:51821",
    "203.0.113.6:51821",
  ]);
  assertEquals(
    advertisedEndpoints([{ name: "eth0", family: "IPv6", address: "2001:db8::5" }], 7, "mg0"),
    ["[2001:db8::5]:7"],
  );
});

Deno.test("the device snapshot keeps each peer's endpoint, handshake time and counters", () => {
  const peers = parseDeviceSnapshot(
    "private_key=00\nlisten_port=51821\n" +
      "public_key=aa\npreshared_key=00\nprotocol_version=1\nendpoint=192.0.2.2:51821\n" +
      "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=250000000\n" +
      "tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\nallowed_ip=10.99.1.2/32\n" +
      "public_key=bb\npreshared_key=00\nprotocol_version=1\n" +
      "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n" +
      "errno=0\n\n",
  );
  assertEquals(peers.get("aa"), {
    endpoint: "192.0.2.2:51821",
    lastHandshake: 1_700_000_000_250,
    rxBytes: 20,
    txBytes: 10,
  });
  assertEquals(peers.get("bb"), { endpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0 });
});

Deno.test("a device answer with malformed or huge numbers gives counters status can print", () => {
  // Found by the fuzz suite: NaN counters serialised as null (the CLI then refused the whole
  // status) and a handshake time past the Date range made status() throw in toISOString.
  const peers = parseDeviceSnapshot(
    "public_key=aa\nlast_handshake_time_sec=9000000000000000\nlast_handshake_time_nsec=0\n" +
      "tx_bytes=1e3\nrx_bytes=abc\n" +
      "public_key=bb\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=x\n" +
      "tx_bytes=-5\nrx_bytes=99999999999999999999\n",
  );
  assertEquals(peers.get("aa"), { endpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0 });
  assertEquals(peers.get("bb"), { endpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0 });
});

Deno.test("address watch reports a changed endpoint list once, and ignores the mesh link", () => {
  let interfaces: InterfaceAddress[] = [{ name: "eth0", family: "IPv4", address: "192.0.2.5" }];
  const reports: string[][] = [];
  const watch = new AddressWatch({
    port: 51821,
    meshInterface: "mg0",
    initial: ["192.0.2.5:51821"],
    read: () => interfaces,
    onChange: (endpoints) => reports.push(endpoints),
  });
  watch.poll();
  assertEquals(reports, []);
  // The mesh interface getting its address is no change for the record.
  interfaces = [...interfaces, { name: "mg0", family: "IPv4", address: "10.99.1.2" }];
  watch.poll();
  assertEquals(reports, []);
  interfaces = [...interfaces, { name: "eth0", family: "IPv4", address: "198.51.100.7" }];
  watch.poll();
  watch.poll();
  assertEquals(reports, [["192.0.2.5:51821", "198.51.100.7:51821"]]);
  interfaces = [{ name: "eth0", family: "IPv4", address: "198.51.100.7" }];
  watch.poll();
  assertEquals(reports.at(-1), ["198.51.100.7:51821"]);
  // A read that throws (an interface vanishing mid-read) reports nothing.
  interfaces = null as unknown as InterfaceAddress[];
  watch.poll();
  assertEquals(reports.length, 2);
});
