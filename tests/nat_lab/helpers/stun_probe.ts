/**
 * The NAT lab's UDP probe, run inside a namespace (`deno run --allow-net`):
 *
 *   stun_probe.ts query <bind ip> <bind port> <server ip:port>...
 *     one socket asks each server in turn for its mapped address; prints one JSON line
 *     {"local":"ip:port","mapped":["ip:port" | null, ...]} (null: no answer within 2 s).
 *   stun_probe.ts watch <bind ip> <bind port> <server ip:port>
 *     asks the server every 200 ms and prints `reply <n> <mapped>` per answer and
 *     `unsolicited <from ip:port>` for every datagram from another source, until stopped.
 *   stun_probe.ts send <bind ip> <bind port> <to ip:port>
 *     sends one datagram ("unsolicited") and prints `sent`.
 *   stun_probe.ts burst <bind ip> <bind port> <server ip:port> <count>
 *     sends <count> Binding requests at once, then prints one JSON line
 *     {"local","sent","answers","mapped":[distinct mapped addresses],"bytes":[distinct sizes]}
 *     once 1 s passes without an answer (what a rate limit lets through).
 *
 * Bind port 0 is an ephemeral port.
 */

import { Buffer } from "node:buffer";
import { createSocket, type Socket } from "node:dgram";
import { bindingRequest, mappedAddress } from "./stun_codec.ts";

const ANSWER_TIMEOUT_MS = 2_000;
const RETRANSMIT_MS = 250;
const WATCH_INTERVAL_MS = 200;

function splitAddress(text: string): [string, number] {
  const colon = text.lastIndexOf(":");
  return [text.slice(0, colon), Number(text.slice(colon + 1))];
}

async function bound(ip: string, port: number): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, ip, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return socket;
}

function send(socket: Socket, bytes: Uint8Array, to: string): Promise<void> {
  const [ip, port] = splitAddress(to);
  return new Promise((resolve, reject) =>
    socket.send(Buffer.from(bytes), port, ip, (error) => error ? reject(error) : resolve())
  );
}

/** One Binding transaction (retransmitted every 250 ms); the mapped address or null. */
async function ask(socket: Socket, server: string): Promise<string | null> {
  const request = bindingRequest();
  let timer: ReturnType<typeof setInterval> | undefined;
  let onMessage: ((message: Uint8Array) => void) | undefined;
  try {
    return await new Promise<string | null>((resolve, reject) => {
      const deadline = setTimeout(() => resolve(null), ANSWER_TIMEOUT_MS);
      onMessage = (message) => {
        const mapped = mappedAddress(new Uint8Array(message), request.transactionId);
        if (mapped !== null) {
          clearTimeout(deadline);
          resolve(mapped);
        }
      };
      socket.on("message", onMessage);
      const transmit = () => send(socket, request.bytes, server).catch(reject);
      timer = setInterval(transmit, RETRANSMIT_MS);
      transmit();
    });
  } finally {
    clearInterval(timer);
    if (onMessage) socket.off("message", onMessage);
  }
}

const [mode, bindIp, bindPortText, ...targets] = Deno.args;
const socket = await bound(bindIp, Number(bindPortText));
const local = `${socket.address().address}:${socket.address().port}`;
if (mode === "query") {
  const mapped: (string | null)[] = [];
  for (const server of targets) mapped.push(await ask(socket, server));
  console.log(JSON.stringify({ local, mapped }));
  socket.close();
} else if (mode === "watch") {
  const server = targets[0];
  let pending = bindingRequest();
  let replies = 0;
  socket.on("message", (message, from) => {
    const source = `${from.address}:${from.port}`;
    // A late answer to an earlier request comes from the server too: only other sources count.
    if (source !== server) {
      console.log(`unsolicited ${source}`);
      return;
    }
    const mapped = mappedAddress(new Uint8Array(message), pending.transactionId);
    if (mapped !== null) {
      console.log(`reply ${++replies} ${mapped}`);
      pending = bindingRequest();
    }
  });
  const transmit = () => send(socket, pending.bytes, server).catch(() => {});
  setInterval(transmit, WATCH_INTERVAL_MS);
  transmit();
  console.log(`watching from ${local}`);
} else if (mode === "send") {
  await send(socket, new TextEncoder().encode("unsolicited"), targets[0]);
  console.log("sent");
  socket.close();
} else if (mode === "burst") {
  const [server, countText] = targets;
  const requests = Array.from({ length: Number(countText) }, () => bindingRequest());
  let answers = 0;
  const mapped = new Set<string>();
  const sizes = new Set<number>();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(resolve, 1_000);
    };
    socket.on("message", (message) => {
      const bytes = new Uint8Array(message);
      const answer = requests.map((request) => mappedAddress(bytes, request.transactionId))
        .find((address) => address !== null);
      if (answer) {
        answers++;
        mapped.add(answer);
        sizes.add(bytes.length);
      }
      arm();
    });
    arm();
  });
  for (const request of requests) await send(socket, request.bytes, server);
  await done;
  console.log(JSON.stringify({
    local,
    sent: requests.length,
    answers,
    mapped: [...mapped],
    bytes: [...sizes],
  }));
  socket.close();
} else {
  console.error("usage: stun_probe.ts query|watch|send|burst <bind ip> <bind port> <ip:port>...");
  Deno.exit(2);
}
