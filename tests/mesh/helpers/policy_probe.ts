/**
 * Tiny TCP/UDP services and probes for the service-policy test, run inside a namespace:
 *   serve <address> <tcp-port,...> <udp-port,...>  TCP: greet "hello <port>" and close; UDP: echo
 *   tcp <address> <port> <timeoutMs>               prints "ok <greeting>" or "timeout"
 *   udp <address> <port> <timeoutMs> [localPort]   prints "ok <echo>" or "timeout"
 * A probe always exits within its timeout (plus start-up).
 */

import { createSocket } from "node:dgram";

const [mode, address, ...rest] = Deno.args;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function timeout(ms: number): Promise<"timeout"> {
  return new Promise((resolve) => setTimeout(() => resolve("timeout"), ms));
}

if (mode === "serve") {
  const tcpPorts = rest[0] ? rest[0].split(",").map(Number) : [];
  const udpPorts = rest[1] ? rest[1].split(",").map(Number) : [];
  for (const port of tcpPorts) {
    const listener = Deno.listen({ hostname: address, port });
    (async () => {
      for await (const connection of listener) {
        connection.write(encoder.encode(`hello ${port}\n`)).finally(() => connection.close());
      }
    })();
  }
  let bound = 0;
  const ready = () => {
    if (bound === udpPorts.length) console.log("listening");
  };
  for (const port of udpPorts) {
    const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
    socket.on("message", (data, from) => socket.send(data, from.port, from.address));
    socket.bind(port, address, () => {
      bound++;
      ready();
    });
  }
  ready();
} else if (mode === "tcp") {
  const [port, ms] = rest.map(Number);
  const attempt = (async () => {
    const connection = await Deno.connect({ hostname: address, port });
    const buffer = new Uint8Array(64);
    const n = await connection.read(buffer);
    connection.close();
    return `ok ${decoder.decode(buffer.subarray(0, n ?? 0)).trim()}`;
  })().catch((error) => `error ${error.message}`);
  console.log(await Promise.race([attempt, timeout(ms)]));
  Deno.exit(0);
} else if (mode === "udp") {
  const [port, ms, localPort] = rest.map(Number);
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const answer = new Promise<string>((resolve) => {
    socket.on("message", (data) => resolve(`ok ${decoder.decode(data)}`));
  });
  socket.bind(localPort || 0, () => socket.send(encoder.encode(`ping ${port}`), port, address));
  console.log(await Promise.race([answer, timeout(ms)]));
  Deno.exit(0);
} else {
  console.error("usage: policy_probe.ts serve|tcp|udp ...");
  Deno.exit(2);
}
