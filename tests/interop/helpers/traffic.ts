/**
 * Traffic endpoints for the interop tests, run inside a namespace:
 *   tcp-server <addr> <port>            accept one connection, print "<bytes> <sha256>" at EOF
 *   tcp-client <addr> <port> <bytes>    send random bytes, print "<bytes> <sha256>"
 *   udp-server <addr> <port> <count>    print how many of <count> datagrams arrived (2 s idle ends)
 *   udp-client <addr> <port> <count>    send <count> 1,000-byte datagrams
 *   udp-varied-server <addr> <port> <count>  print "<arrived> <intact>" of <count> varied ones
 *   udp-varied-client <addr> <port> <count> <max>  send <count> datagrams of 1..<max> bytes
 * The servers print "listening" once ready, so tests await that line instead of sleeping.
 */

import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";

const [mode, address, portText, amountText] = Deno.args;
const port = Number(portText);
const amount = Number(amountText ?? 0);

async function tcpServer(): Promise<void> {
  const listener = Deno.listen({ hostname: address, port });
  console.log("listening");
  const connection = await listener.accept();
  const hash = createHash("sha256");
  let total = 0;
  const buffer = new Uint8Array(1 << 16);
  for (;;) {
    const read = await connection.read(buffer);
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    total += read;
  }
  console.log(`${total} ${hash.digest("hex")}`);
  listener.close();
}

async function tcpClient(): Promise<void> {
  const connection = await Deno.connect({ hostname: address, port });
  const hash = createHash("sha256");
  const chunk = new Uint8Array(1 << 16);
  let sent = 0;
  while (sent < amount) {
    const size = Math.min(chunk.length, amount - sent);
    crypto.getRandomValues(chunk.subarray(0, size));
    hash.update(chunk.subarray(0, size));
    let written = 0;
    while (written < size) written += await connection.write(chunk.subarray(written, size));
    sent += size;
  }
  connection.close();
  console.log(`${sent} ${hash.digest("hex")}`);
}

async function udpServer(): Promise<void> {
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  let received = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(resolve, 2_000);
    };
    socket.on("message", () => {
      received++;
      if (received >= amount) resolve();
      else arm();
    });
    socket.bind(port, address, () => {
      console.log("listening");
      idle = setTimeout(resolve, 20_000);
    });
  });
  await done;
  clearTimeout(idle);
  socket.close();
  console.log(`${received}`);
}

async function udpClient(): Promise<void> {
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const payload = new Uint8Array(1000);
  for (let i = 0; i < amount; i++) {
    // Paced so the receiving socket's default buffer (not the tunnel) is never the bottleneck.
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise<void>((resolve, reject) =>
      socket.send(payload, port, address, (error) => error ? reject(error) : resolve())
    );
  }
  socket.close();
  console.log(`${amount}`);
}

/** Size and byte `j` of varied datagram `i` (the index rides in its first two bytes). */
function variedSize(i: number, max: number): number {
  return i % 7 === 0 ? max : 2 + ((i * 389) % (max - 1));
}
function variedByte(i: number, j: number): number {
  return j === 0 ? i & 0xff : j === 1 ? i >>> 8 : (i * 7 + j * 13) & 0xff;
}

async function udpVariedServer(): Promise<void> {
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  let received = 0;
  let intact = 0;
  const max = Number(Deno.args[4]);
  let idle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    socket.on("message", (message: Uint8Array) => {
      received++;
      const i = message[0] | (message[1] << 8);
      let ok = message.length === variedSize(i, max);
      for (let j = 0; ok && j < message.length; j++) ok = message[j] === variedByte(i, j);
      if (ok) intact++;
      clearTimeout(idle);
      if (received >= amount) resolve();
      else idle = setTimeout(resolve, 2_000);
    });
    socket.bind(port, address, () => {
      console.log("listening");
      idle = setTimeout(resolve, 20_000);
    });
  });
  await done;
  clearTimeout(idle);
  socket.close();
  console.log(`${received} ${intact}`);
}

async function udpVariedClient(): Promise<void> {
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  const max = Number(Deno.args[4]);
  for (let i = 0; i < amount; i++) {
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
    const payload = new Uint8Array(variedSize(i, max));
    for (let j = 0; j < payload.length; j++) payload[j] = variedByte(i, j);
    await new Promise<void>((resolve, reject) =>
      socket.send(payload, port, address, (error) => error ? reject(error) : resolve())
    );
  }
  socket.close();
  console.log(`${amount}`);
}

const modes: Record<string, () => Promise<void>> = {
  "udp-varied-server": udpVariedServer,
  "udp-varied-client": udpVariedClient,
  "tcp-server": tcpServer,
  "tcp-client": tcpClient,
  "udp-server": udpServer,
  "udp-client": udpClient,
};
if (!modes[mode]) {
  console.error(`unknown mode ${mode}`);
  Deno.exit(2);
}
await modes[mode]();
