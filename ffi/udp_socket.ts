/**
 * A dual-stack UDP socket through FFI: AF_INET6 with IPV6_V6ONLY=0, so IPv4 peers appear as
 * ::ffff:a.b.c.d. Batches use sendmmsg/recvmmsg over mmsghdr/iovec/sockaddr arrays allocated
 * once per socket; each iovec points at the caller's view (e.g. wasm memory), so payloads are
 * never copied by JS. The socket is non-blocking; waiting is poll() with a timeout, which keeps
 * every call bounded and lets a worker loop notice shutdown. The batch structures are in
 * `udp_batch_area.ts`, GSO sends in `udp_segment_batch.ts`.
 */

import { Errno, InvalidArgumentError } from "./errors.ts";
import { closeDescriptor, lastErrno, libc, systemCallError } from "./libc.ts";
import { POLLIN, POLLOUT, PollSet } from "./poll.ts";
import {
  AF_INET6,
  copySockaddrAddress,
  SOCKADDR_IN6_SIZE,
  sockaddrPort,
  writeSockaddrIn6,
} from "./socket_address.ts";
import { SegmentedSendArea, SOL_UDP, UDP_GRO, UDP_SEGMENT } from "./udp_segment_batch.ts";
import {
  BatchArea,
  CONTROL_STRIDE,
  type DatagramSlot,
  MMSGHDR_SIZE,
  SOCKADDR_STRIDE,
} from "./udp_batch_area.ts";
import { getIntOption, setBufferSize, setIntOption } from "./socket_options.ts";

export { DatagramSlot, datagramSlots } from "./udp_batch_area.ts";

const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_REUSEPORT = 15;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SO_MARK = 36;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const MSG_TRUNC = 0x20;
const EIO = 5;

/** Errors that mean the socket itself is unusable, as opposed to one bad datagram. */
const FATAL_SEND_ERRNOS = new Set<number>([Errno.EBADF, Errno.EFAULT, Errno.ENOTSOCK]);
/** `#sendFailure` verdicts; errnos are positive, so these never collide with one. */
const SEND_RETRY = -1;
const SEND_TIMED_OUT = -2;

/** A datagram read by `receiveFrom`. */
export interface ReceivedDatagram {
  /** Payload bytes written into the caller's view. */
  length: number;
  /** The sender's address: 16 bytes, IPv4 senders as ::ffff:a.b.c.d. */
  address: Uint8Array;
  /** The sender's port. */
  port: number;
}

/** How to open the socket. */
export interface UdpSocketOptions {
  /** Local port; 0 (default) = an ephemeral port (read it back from `port`). */
  port?: number;
  /** Local address, 4 or 16 bytes; default :: (every address, both families). */
  address?: Uint8Array;
  /** SO_RCVBUF in bytes (SO_RCVBUFFORCE is tried first so root can exceed rmem_max). */
  receiveBufferBytes?: number;
  /** SO_SNDBUF in bytes (SO_SNDBUFFORCE first, as above). */
  sendBufferBytes?: number;
  /** SO_REUSEPORT, so each worker can own a socket on the same port. */
  reusePort?: boolean;
  /** Datagrams per sendBatch/receiveBatch call at most (default 64). */
  batchSize?: number;
}

/** A bound dual-stack UDP socket with single and batched send/receive. */
export class UdpSocket {
  /** The file descriptor. */
  readonly fd: number;
  /** The bound local port (the real one when 0 was asked for). */
  readonly port: number;
  /** Largest batch `sendBatch`/`receiveBatch` move in one call. */
  readonly batchSize: number;
  /** Datagrams `sendBatch` dropped because the kernel refused them (e.g. no route). */
  sendErrors = 0;
  /** errno of the last datagram `sendBatch` dropped (0 if none yet). */
  lastSendErrno = 0;
  readonly #rx: BatchArea;
  readonly #tx: BatchArea;
  /** GSO sends (UDP_SEGMENT) when enabled and not yet refused by the kernel. */
  #segmented: SegmentedSendArea | null = null;
  /** errno with which the kernel refused a GSO send (then plain sendmmsg); 0 if none. */
  segmentationRefused = 0;
  /** UDP GRO is on: receive slots may hold several datagrams (`segmentSize`). */
  #coalescing = false;
  readonly #poll: PollSet;
  readonly #name = new Uint8Array(64);
  readonly #nameLength = new Uint8Array(64);
  #closed = false;
  /** False for a socket borrowed from another thread: close() then leaves the fd alone. */
  readonly #owned: boolean;

  private constructor(fd: number, port: number, batchSize: number, owned = true) {
    this.fd = fd;
    this.port = port;
    this.batchSize = batchSize;
    this.#owned = owned;
    this.#rx = new BatchArea(batchSize);
    this.#tx = new BatchArea(batchSize);
    this.#poll = new PollSet([fd]);
  }

  /**
   * Uses a socket another thread opened (fds are process-wide), with this thread's own batch
   * buffers. The opener keeps ownership: `close()` on the borrowed one does not close the fd.
   */
  static borrow(fd: number, port: number, batchSize = 64): UdpSocket {
    if (!Number.isInteger(fd) || fd < 0) throw new InvalidArgumentError(`bad socket fd ${fd}`);
    return new UdpSocket(fd, port, batchSize, false);
  }

  /** Opens and binds a socket (see `UdpSocketOptions`); errors carry errno and a fix. */
  static open(options: UdpSocketOptions = {}): UdpSocket {
    const batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1024) {
      throw new InvalidArgumentError(`batchSize ${batchSize} is not in 1..1024`);
    }
    const local = new Uint8Array(64);
    writeSockaddrIn6(local, 0, options.address ?? new Uint8Array(16), options.port ?? 0);
    const fd = libc().socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      throw systemCallError(
        "socket(AF_INET6, SOCK_DGRAM)",
        lastErrno() === 97 ? "IPv6 is disabled in this kernel or namespace" : undefined,
      );
    }
    try {
      setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
      if (options.reusePort) setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
      if (options.receiveBufferBytes !== undefined) {
        setBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receiveBufferBytes, "SO_RCVBUF");
      }
      if (options.sendBufferBytes !== undefined) {
        setBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes, "SO_SNDBUF");
      }
      if (libc().bind(fd, local, SOCKADDR_IN6_SIZE) !== 0) {
        const errno = lastErrno();
        throw systemCallError(
          `bind(port ${options.port ?? 0})`,
          errno === Errno.EADDRINUSE
            ? "the port is in use: stop the other listener, choose another port, or use 0"
            : errno === 99
            ? "the address is not assigned to any interface in this namespace"
            : undefined,
          errno,
        );
      }
      const name = new Uint8Array(64);
      const nameLength = new Uint8Array(64);
      new DataView(nameLength.buffer).setUint32(0, 64, true);
      if (libc().getsockname(fd, name, nameLength) !== 0) throw systemCallError("getsockname");
      return new UdpSocket(fd, sockaddrPort(name, 0), batchSize);
    } catch (error) {
      libc().close(fd);
      throw error;
    }
  }

  /** Sets SO_MARK (policy routing of our own packets, like WireGuard's fwmark; 0 clears it). */
  setFwmark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) {
      throw new InvalidArgumentError(`fwmark ${mark} is not a 32-bit unsigned integer`);
    }
    setIntOption(this.fd, SOL_SOCKET, SO_MARK, mark | 0, "SO_MARK");
  }

  /**
   * Sends batches with UDP GSO from now on when the kernel knows UDP_SEGMENT (probed with
   * getsockopt); false when it does not, and sends stay plain sendmmsg. A GSO send the kernel
   * refuses later (EIO: no checksum offload on the route) turns it off for good.
   */
  enableSegmentation(): boolean {
    const value = new Uint8Array(4);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, 4, true);
    if (libc().getsockopt(this.fd, SOL_UDP, UDP_SEGMENT, value, length) !== 0) return false;
    this.#segmented ??= new SegmentedSendArea(this.batchSize);
    return true;
  }

  /**
   * UDP_GRO on (true) or off: with it on, one received slot may hold many same-size datagrams
   * of one sender (its `segmentSize` says how to cut them), so views must be large (64 KB) or
   * datagrams are cut off. False when the kernel refuses (before Linux 5.0).
   */
  setReceiveCoalescing(on: boolean): boolean {
    const value = new Uint8Array(4);
    new DataView(value.buffer).setInt32(0, on ? 1 : 0, true);
    if (libc().setsockopt(this.fd, SOL_UDP, UDP_GRO, value, 4) !== 0) {
      this.#coalescing = false;
      return false;
    }
    this.#coalescing = on;
    return true;
  }

  /** True while batches go out as GSO messages. */
  get segmenting(): boolean {
    return this.#segmented !== null;
  }

  /** The kernel's effective SO_RCVBUF (it doubles what was asked, for bookkeeping). */
  receiveBufferBytes(): number {
    return getIntOption(this.fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
  }

  /** The kernel's effective SO_SNDBUF. */
  sendBufferBytes(): number {
    return getIntOption(this.fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
  }

  /**
   * Sends `length` bytes of `view` (default: all of it) to `address` (4 or 16 bytes) and
   * `port`; waits up to `timeoutMs` (-1 = forever) for buffer space. Returns bytes sent, 0 on
   * timeout.
   */
  sendTo(
    view: Uint8Array,
    address: Uint8Array,
    port: number,
    length: number = view.byteLength,
    timeoutMs = -1,
  ): number {
    if (length > view.byteLength) {
      throw new InvalidArgumentError(`length ${length} exceeds its view (${view.byteLength})`);
    }
    writeSockaddrIn6(this.#name, 0, address, port);
    for (;;) {
      const sent = libc().sendto(this.fd, view, length, 0, this.#name, SOCKADDR_IN6_SIZE);
      if (sent >= 0) return sent;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.EAGAIN && timeoutMs !== 0) {
        if (!this.#wait(POLLOUT, timeoutMs)) return 0;
        continue;
      }
      throw systemCallError("sendto", sendHint(errno), errno);
    }
  }

  /** Receives one datagram into `view`, waiting up to `timeoutMs` (-1 = forever); null on timeout. */
  receiveFrom(view: Uint8Array, timeoutMs = -1): ReceivedDatagram | null {
    for (;;) {
      new DataView(this.#nameLength.buffer).setUint32(0, SOCKADDR_IN6_SIZE, true);
      const length = libc().recvfrom(
        this.fd,
        view,
        view.byteLength,
        0,
        this.#name,
        this.#nameLength,
      );
      if (length >= 0) {
        const address = new Uint8Array(16);
        copySockaddrAddress(this.#name, 0, address);
        return { length, address, port: sockaddrPort(this.#name, 0) };
      }
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno !== Errno.EAGAIN) throw systemCallError("recvfrom", undefined, errno);
      if (timeoutMs === 0 || !this.#wait(POLLIN, timeoutMs)) return null;
    }
  }

  /**
   * Sends `slots[0..count)` with sendmmsg, straight from each slot's view. Waits up to
   * `timeoutMs` (-1 = forever) whenever the send buffer is full. A datagram the kernel refuses
   * on its own (no route, too big) is skipped and counted in `sendErrors`/`lastSendErrno`;
   * only errors of the socket itself throw. Returns how many datagrams the kernel accepted.
   */
  sendBatch(slots: readonly DatagramSlot[], count: number = slots.length, timeoutMs = -1): number {
    if (count > slots.length) {
      throw new InvalidArgumentError(`count ${count} exceeds the ${slots.length} slots given`);
    }
    const tx = this.#tx;
    let accepted = 0;
    let next = 0;
    while (next < count && this.#segmented !== null) {
      const area = this.#segmented;
      const messages = area.fill(slots, next, count);
      const sent = libc().sendmmsg(this.fd, area.bytes, messages, 0);
      if (sent > 0) {
        for (let m = 0; m < sent; m++) {
          accepted += area.slotsPerMessage[m];
          next += area.slotsPerMessage[m];
        }
        continue;
      }
      const errno = this.#sendFailure(sent, timeoutMs);
      if (errno === SEND_RETRY) continue;
      if (errno === SEND_TIMED_OUT) return accepted;
      if (area.slotsPerMessage[0] > 1 && (errno === EIO || errno === Errno.EINVAL)) {
        // The route cannot take GSO: plain datagrams from here on (this batch included).
        this.segmentationRefused = errno;
        this.#segmented = null;
        break;
      }
      this.sendErrors += area.slotsPerMessage[0];
      this.lastSendErrno = errno;
      next += area.slotsPerMessage[0];
    }
    while (next < count) {
      const chunk = Math.min(count - next, this.batchSize);
      for (let i = 0; i < chunk; i++) {
        const slot = slots[next + i];
        if (slot.length > slot.view.byteLength || slot.length < 0) {
          throw new InvalidArgumentError(
            `slot ${next + i}: length ${slot.length} exceeds its view (${slot.view.byteLength})`,
          );
        }
        tx.setPayload(i, slot.view, slot.length);
        writeSockaddrIn6(tx.bytes, tx.nameOffset + i * SOCKADDR_STRIDE, slot.address, slot.port);
      }
      const sent = libc().sendmmsg(this.fd, tx.bytes, chunk, 0);
      if (sent > 0) {
        accepted += sent;
        next += sent;
        continue;
      }
      const errno = this.#sendFailure(sent, timeoutMs);
      if (errno === SEND_RETRY) continue;
      if (errno === SEND_TIMED_OUT) return accepted;
      // The first datagram of this call was refused: drop it, keep the rest of the batch.
      this.sendErrors++;
      this.lastSendErrno = errno;
      next++;
    }
    return accepted;
  }

  /**
   * Receives up to `count` datagrams (default: all slots, at most `batchSize`) with recvmmsg,
   * straight into each slot's view; fills each slot's length, address, port and truncated.
   * Waits up to `timeoutMs` (-1 = forever) for the first one; returns how many arrived (0 on
   * timeout) without waiting for the batch to fill.
   */
  receiveBatch(
    slots: readonly DatagramSlot[],
    timeoutMs = -1,
    count: number = Math.min(slots.length, this.batchSize),
  ): number {
    if (count > slots.length || count > this.batchSize) {
      throw new InvalidArgumentError(
        `count ${count} exceeds the ${slots.length} slots or the batch size ${this.batchSize}`,
      );
    }
    const rx = this.#rx;
    for (let i = 0; i < count; i++) {
      const view = slots[i].view;
      rx.setPayload(i, view, view.byteLength);
      rx.words[(i * MMSGHDR_SIZE + 8) >> 2] = SOCKADDR_IN6_SIZE; // the kernel overwrites it
      rx.words[(i * MMSGHDR_SIZE + 40) >> 2] = this.#coalescing ? CONTROL_STRIDE : 0; // and this
    }
    for (;;) {
      const received = libc().recvmmsg(this.fd, rx.bytes, count, 0, null);
      if (received > 0) {
        for (let i = 0; i < received; i++) {
          const slot = slots[i];
          const header = (i * MMSGHDR_SIZE) >> 2;
          slot.length = rx.words[header + 14]; // msg_len @56
          slot.truncated = (rx.words[header + 12] & MSG_TRUNC) !== 0; // msg_flags @48
          slot.segmentSize = 0;
          // One cmsg at most: SOL_UDP/UDP_GRO with an int, when the kernel coalesced.
          if (this.#coalescing && rx.words[header + 10] >= 20) {
            const control = (rx.controlOffset + i * CONTROL_STRIDE) >> 2;
            if (rx.words[control + 2] === SOL_UDP && rx.words[control + 3] === UDP_GRO) {
              slot.segmentSize = rx.words[control + 4];
            }
          }
          const name = rx.nameOffset + i * SOCKADDR_STRIDE;
          if (slot.address.length !== 16) slot.address = new Uint8Array(16);
          copySockaddrAddress(rx.bytes, name, slot.address);
          slot.port = sockaddrPort(rx.bytes, name);
        }
        return received;
      }
      const errno = received === 0 ? Errno.EAGAIN : lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno !== Errno.EAGAIN) throw systemCallError("recvmmsg", undefined, errno);
      if (timeoutMs === 0 || !this.#wait(POLLIN, timeoutMs)) return 0;
    }
  }

  /** Closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) closeDescriptor(this.fd, `udp port ${this.port}`);
  }

  /**
   * What a sendmmsg that sent nothing means for the send loops: `SEND_RETRY` (interrupted, or
   * the buffer drained within `timeoutMs`), `SEND_TIMED_OUT`, or the errno of the one datagram
   * the kernel refused. Errors of the socket itself throw. Numbers only: the loops are hot.
   */
  #sendFailure(sent: number, timeoutMs: number): number {
    const errno = sent === 0 ? Errno.EAGAIN : lastErrno();
    if (errno === Errno.EINTR) return SEND_RETRY;
    if (errno === Errno.EAGAIN) {
      return timeoutMs !== 0 && this.#wait(POLLOUT, timeoutMs) ? SEND_RETRY : SEND_TIMED_OUT;
    }
    if (FATAL_SEND_ERRNOS.has(errno)) throw systemCallError("sendmmsg", undefined, errno);
    return errno;
  }

  #wait(events: number, timeoutMs: number): boolean {
    this.#poll.setEvents(0, events);
    return this.#poll.wait(timeoutMs) > 0;
  }
}

function sendHint(errno: number): string | undefined {
  if (errno === 101) return "no route to that address from this namespace";
  if (errno === 90) return "the datagram is larger than the path allows";
  return undefined;
}
