/**
 * Runs ffi/ code inside a network namespace for the netns tests: started as
 * `ip netns exec <ns> deno run --allow-ffi --allow-read ffi_agent.ts`, it reads one JSON
 * request per stdin line and answers one JSON line on stdout. It exits at stdin EOF, so a test
 * that drops its end cannot leave it running. Everything is synchronous: one request at a time.
 */

import { openTun, type TunDevice } from "../../../ffi/tun.ts";
import { RouteNetlink } from "../../../ffi/rtnetlink.ts";
import { datagramSlots, UdpSocket } from "../../../ffi/udp_socket.ts";
import { unmapAddress } from "../../../ffi/socket_address.ts";
import { setIntOption } from "../../../ffi/socket_options.ts";
import { FfiError } from "../../../ffi/errors.ts";
import { formatIpAddress, parseIpv4, parseIpv6 } from "../../../lib/net/ip_address.ts";
import { parseIpPacket, patternByte, patternLength } from "./packets.ts";

/** One request line. */
export interface AgentRequest {
  op: string;
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

const SLOT = 2048;
const tuns = new Map<number, TunDevice>();
const sockets = new Map<number, UdpSocket>();
let nextId = 1;
let netlink: RouteNetlink | undefined;

function address(text: string): Uint8Array {
  const bytes = parseIpv4(text) ?? parseIpv6(text);
  if (!bytes) throw new Error(`bad address text ${text}`);
  return bytes;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function route(): RouteNetlink {
  return netlink ??= RouteNetlink.open();
}

/** A wasm memory with `slots` slots of 2 KiB: payloads are sent from / land in its views. */
function wasmSlots(slots: number, shared: boolean) {
  const pages = Math.ceil((slots * SLOT) / 65536);
  const memory = shared
    ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
    : new WebAssembly.Memory({ initial: pages, maximum: pages });
  const views = Array.from(
    { length: slots },
    (_, i) => new Uint8Array(memory.buffer, i * SLOT, SLOT),
  );
  return { memory, views };
}

function handle(request: AgentRequest): unknown {
  switch (request.op) {
    case "tun.open": {
      const tun = openTun({
        name: request.name,
        multiQueue: request.multiQueue,
        vnetHeader: request.vnetHeader,
      });
      const id = nextId++;
      tuns.set(id, tun);
      // offload: TUNSETOFFLOAD flags to ask for; the answer says whether the kernel took them.
      let offload = 0;
      if (request.offload !== undefined) {
        try {
          tun.setOffload(request.offload);
          offload = request.offload;
        } catch {
          // refused: the test says so and skips
        }
      }
      return { id, name: tun.name, fd: tun.fd, offload };
    }
    case "tun.write":
      return { written: tuns.get(request.id)!.write(unhex(request.hex)) };
    case "tun.readMatching": {
      // Skip what the kernel emits on its own (IPv6 router solicitations, MLD reports).
      const want = address(request.destination);
      const buffer = new Uint8Array(SLOT);
      const deadline = performance.now() + request.timeoutMs;
      for (;;) {
        const remaining = Math.ceil(deadline - performance.now());
        if (remaining <= 0) return { hex: null };
        const length = tuns.get(request.id)!.read(buffer, remaining);
        if (length === 0) return { hex: null };
        const packet = buffer.slice(0, length);
        const parsed = parseIpPacket(packet);
        if (
          parsed.protocol === 17 && formatIpAddress(parsed.destination) === formatIpAddress(want)
        ) {
          return { hex: hex(packet) };
        }
      }
    }
    case "tun.close":
      tuns.get(request.id)!.close();
      tuns.delete(request.id);
      return {};
    case "nl.linkIndex":
      return { index: route().linkIndex(request.name) };
    case "nl.setLinkUp":
      route().setLinkUp(request.link, request.up ?? true);
      return {};
    case "nl.setMtu":
      route().setMtu(request.link, request.mtu);
      return {};
    case "nl.addAddress":
      route().addAddress(request.link, address(request.address), request.prefix, request.options);
      return {};
    case "nl.addRoute":
      route().addRoute(request.link, address(request.destination), request.prefix, request.options);
      return {};
    case "nl.deleteLink":
      route().deleteLink(request.link);
      return {};
    case "udp.open": {
      const socket = UdpSocket.open({
        port: request.port ?? 0,
        receiveBufferBytes: request.receiveBufferBytes,
        batchSize: request.batchSize,
      });
      const id = nextId++;
      sockets.set(id, socket);
      return { id, port: socket.port, receiveBufferBytes: socket.receiveBufferBytes() };
    }
    case "udp.sendTo": {
      const payload = unhex(request.hex);
      return {
        sent: sockets.get(request.id)!.sendTo(payload, address(request.address), request.port),
      };
    }
    case "udp.receiveFrom": {
      const view = new Uint8Array(SLOT);
      const got = sockets.get(request.id)!.receiveFrom(view, request.timeoutMs);
      if (!got) return { hex: null };
      return {
        hex: hex(view.subarray(0, got.length)),
        address: formatIpAddress(unmapAddress(got.address)),
        port: got.port,
      };
    }
    case "udp.sendBatch": {
      // The payloads are written into wasm memory and sent from views of it (no JS copy).
      const { views } = wasmSlots(request.count, request.shared ?? false);
      const slots = datagramSlots(views);
      const destination = address(request.address);
      // equalLength: GSO-shaped batches (one size, the last 100 bytes shorter), the index in
      // the first two bytes since the length no longer tells it.
      const equal: number | undefined = request.equalLength;
      slots.forEach((slot, index) => {
        slot.length = equal === undefined
          ? patternLength(index)
          : index === request.count - 1
          ? equal - 100
          : equal;
        for (let j = 0; j < slot.length; j++) slot.view[j] = patternByte(request.seed, index, j);
        if (equal !== undefined) {
          slot.view[0] = index & 0xff;
          slot.view[1] = index >>> 8;
        }
        // An optional slot with no route at all checks that one refusal drops one datagram.
        slot.address = index === request.unreachableAt
          ? new Uint8Array([192, 0, 2, 1])
          : destination;
        slot.port = request.port;
      });
      const socket = sockets.get(request.id)!;
      if (request.segmentation && !socket.enableSegmentation()) {
        throw new Error("UDP_SEGMENT is not supported by this kernel");
      }
      // SO_NO_CHECK: the kernel refuses GSO sends without checksums (EINVAL), which drives
      // the socket's fall-back to plain sendmmsg.
      if (request.noChecksum) setIntOption(socket.fd, 1, 11, 1, "SO_NO_CHECK");
      const accepted = socket.sendBatch(slots, request.count, request.timeoutMs);
      return {
        accepted,
        sendErrors: socket.sendErrors,
        lastSendErrno: socket.lastSendErrno,
        ...(request.segmentation
          ? { segmenting: socket.segmenting, segmentationRefused: socket.segmentationRefused }
          : {}),
      };
    }
    case "udp.receiveBatch": {
      const { memory, views } = wasmSlots(request.slots, request.shared ?? false);
      const slots = datagramSlots(views);
      const socket = sockets.get(request.id)!;
      const deadline = performance.now() + request.timeoutMs;
      let received = 0;
      let calls = 0;
      let largestBatch = 0;
      let mismatches = 0;
      const lengths: number[] = [];
      const order: number[] = [];
      const sources = new Set<string>();
      while (received < request.expected) {
        const remaining = Math.ceil(deadline - performance.now());
        if (remaining <= 0) break;
        const count = socket.receiveBatch(slots, remaining);
        if (count === 0) break;
        calls++;
        largestBatch = Math.max(largestBatch, count);
        // Check through a second, independent view of the memory: the bytes are in wasm memory.
        const whole = new Uint8Array(memory.buffer);
        for (let i = 0; i < count; i++) {
          const slot = slots[i];
          // The sender's index is recovered from the length pattern (lengths are unique), or
          // read from the first two bytes of equal-length (GSO) batches.
          const equal = request.equalLength !== undefined;
          const index = equal
            ? whole[i * SLOT] | (whole[i * SLOT + 1] << 8)
            : Array.from({ length: 64 }, (_, k) => k).find((k) =>
              patternLength(k) === slot.length
            ) ?? -1;
          lengths.push(slot.length);
          if (equal) order.push(index);
          sources.add(`${formatIpAddress(unmapAddress(slot.address))}:${slot.port}`);
          for (let j = equal ? 2 : 0; j < slot.length; j++) {
            if (whole[i * SLOT + j] !== patternByte(request.seed, index, j)) {
              mismatches++;
              break;
            }
          }
        }
        received += count;
      }
      return {
        received,
        calls,
        largestBatch,
        mismatches,
        lengths,
        sources: [...sources],
        ...(request.equalLength !== undefined ? { order } : {}),
      };
    }
    case "udp.close":
      sockets.get(request.id)!.close();
      sockets.delete(request.id);
      return {};
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

function describe(error: unknown) {
  if (error instanceof FfiError) {
    return { name: error.name, errno: error.errno, code: error.code, message: error.message };
  }
  return { name: "Error", errno: 0, code: "", message: String(error) };
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let pending = "";
  const respond = (value: unknown) => {
    const bytes = encoder.encode(JSON.stringify(value) + "\n");
    for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
  };
  respond({ ok: true, result: { ready: true } });
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        respond({ ok: true, result: handle(JSON.parse(line)) });
      } catch (error) {
        respond({ ok: false, error: describe(error) });
      }
    }
  }
  for (const tun of tuns.values()) tun.close();
  for (const socket of sockets.values()) socket.close();
  netlink?.close();
}
