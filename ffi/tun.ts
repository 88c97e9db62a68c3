/**
 * TUN devices through `/dev/net/tun` and `ioctl(TUNSETIFF)`. Reads and writes go straight
 * between the kernel and the caller's view (which may be a view of wasm memory): nothing here
 * copies a packet. Assumes x86_64 Linux: `struct ifreq` is 40 bytes with `ifr_flags` at 16.
 */

import { Errno, InvalidArgumentError } from "./errors.ts";
import { closeDescriptor, cString, lastErrno, libc, systemCallError } from "./libc.ts";
import { POLLIN, POLLOUT, PollSet } from "./poll.ts";

/** `_IOW('T', 202, int)`: attach the fd to a (new or existing) TUN/TAP interface. */
const TUNSETIFF = 0x400454ca;
/** `_IOW('T', 208, unsigned int)`: which offloads the reader of a vnet TUN can take. */
const TUNSETOFFLOAD = 0x400454d0;
/** TUNSETOFFLOAD flags (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
/** TCP over IPv4 super-packets (needs TUN_F_CSUM). */
export const TUN_F_TSO4 = 0x02;
/** TCP over IPv6 super-packets (needs TUN_F_CSUM). */
export const TUN_F_TSO6 = 0x04;
/** TSO with ECN. */
export const TUN_F_TSO_ECN = 0x08;
/** UDP over IPv4 segmentation offload (Linux 6.2+). */
export const TUN_F_USO4 = 0x20;
/** UDP over IPv6 segmentation offload (Linux 6.2+). */
export const TUN_F_USO6 = 0x40;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_VNET_HDR = 0x4000;
const O_RDWR = 0x0002;
const O_NONBLOCK = 0x0800;
const O_CLOEXEC = 0x80000;
/** Interface names are at most 15 bytes plus the NUL (IFNAMSIZ = 16). */
export const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const IFR_FLAGS_OFFSET = 16;

/** How to create or attach the TUN interface. */
export interface TunOptions {
  /** Interface name (at most 15 bytes); a kernel pattern like "mg%d" or omitted = kernel picks. */
  name?: string;
  /** IFF_VNET_HDR: every packet is preceded by a virtio_net_hdr (for TSO/USO offloads). */
  vnetHeader?: boolean;
  /** IFF_MULTI_QUEUE: open one queue per worker by calling `openTun` again with the same name. */
  multiQueue?: boolean;
  /** O_NONBLOCK: reads return 0 instead of blocking when no packet is queued. */
  nonBlocking?: boolean;
}

/** An open TUN queue: the fd, the interface name the kernel gave it, blocking read/write. */
export class TunDevice {
  /** The file descriptor (one queue of the interface). */
  readonly fd: number;
  /** The actual interface name (the kernel expands patterns such as "tun%d"). */
  readonly name: string;
  readonly #poll: PollSet;
  #closed = false;

  constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
    this.#poll = new PollSet([fd], [POLLIN]);
  }

  /**
   * Reads one packet into `view` and returns its length. Blocks until a packet arrives, or for
   * at most `timeoutMs` when given (then 0 means "timed out": a TUN packet is never empty). On a
   * non-blocking device 0 also means "nothing queued".
   */
  read(view: Uint8Array, timeoutMs?: number): number {
    for (;;) {
      if (timeoutMs !== undefined) {
        this.#poll.setEvents(0, POLLIN);
        if (this.#poll.wait(timeoutMs) === 0) return 0;
      }
      const length = libc().read(this.fd, view, view.byteLength);
      if (length >= 0) return length;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.EAGAIN) {
        if (timeoutMs === undefined) return 0;
        continue; // poll said readable but another queue reader won the race: wait again
      }
      throw systemCallError(`read(${this.name})`, undefined, errno);
    }
  }

  /**
   * Writes the first `length` bytes of `view` (the whole view by default) as one packet.
   * Returns the bytes written, or 0 when a non-blocking device's queue is full.
   */
  write(view: Uint8Array, length: number = view.byteLength): number {
    if (length > view.byteLength) {
      throw new InvalidArgumentError(
        `packet length ${length} exceeds its view (${view.byteLength})`,
      );
    }
    for (;;) {
      const written = libc().write(this.fd, view, length);
      if (written >= 0) return written;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.EAGAIN) return 0;
      throw systemCallError(
        `write(${this.name})`,
        errno === Errno.EINVAL ? "the packet is not a valid IPv4/IPv6 packet" : undefined,
        errno,
      );
    }
  }

  /**
   * TUNSETOFFLOAD: the kernel may hand this (vnet) interface packets with partial checksums
   * and super-packets of the kinds in `flags`. Throws on refusal (EINVAL: a flag this kernel
   * does not know). The setting is the interface's, shared by all its queues.
   */
  setOffload(flags: number): void {
    if (libc().ioctl_value(this.fd, TUNSETOFFLOAD, flags) !== 0) {
      throw systemCallError(`ioctl(TUNSETOFFLOAD ${this.name} 0x${flags.toString(16)})`);
    }
  }

  /** Waits until the device is writable (a full non-blocking queue drained) or the timeout passes. */
  waitWritable(timeoutMs: number): boolean {
    this.#poll.setEvents(0, POLLOUT);
    return this.#poll.wait(timeoutMs) > 0;
  }

  /** Closes this queue; a non-persistent interface disappears with its last queue. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeDescriptor(this.fd, `tun ${this.name}`);
  }
}

/** Creates (or attaches to) a TUN interface with IFF_TUN|IFF_NO_PI and the requested options. */
export function openTun(options: TunOptions = {}): TunDevice {
  const name = options.name ?? "";
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length >= IFNAMSIZ) {
    throw new InvalidArgumentError(
      `interface name "${name}" is ${nameBytes.length} bytes; Linux allows at most ${IFNAMSIZ - 1}`,
    );
  }
  if (nameBytes.includes(0) || /[\s/]/.test(name)) {
    throw new InvalidArgumentError(`interface name "${name}" contains a NUL, "/" or whitespace`);
  }
  let flags = O_RDWR | O_CLOEXEC;
  if (options.nonBlocking) flags |= O_NONBLOCK;
  const fd = libc().open(cString("/dev/net/tun"), flags, 0);
  if (fd < 0) {
    const errno = lastErrno();
    throw systemCallError(
      "open(/dev/net/tun)",
      errno === Errno.ENOENT || errno === Errno.ENODEV
        ? "the tun driver is missing: load it with `modprobe tun` (in a container, pass /dev/net/tun)"
        : undefined,
      errno,
    );
  }
  const ifreq = new Uint8Array(64); // 40 bytes used; 64 keeps the backing store off the V8 heap
  ifreq.set(nameBytes);
  let ifrFlags = IFF_TUN | IFF_NO_PI;
  if (options.vnetHeader) ifrFlags |= IFF_VNET_HDR;
  if (options.multiQueue) ifrFlags |= IFF_MULTI_QUEUE;
  new DataView(ifreq.buffer).setUint16(IFR_FLAGS_OFFSET, ifrFlags, true);
  if (libc().ioctl(fd, TUNSETIFF, ifreq) !== 0) {
    const errno = lastErrno();
    libc().close(fd);
    throw systemCallError(
      `ioctl(TUNSETIFF "${name}")`,
      errno === Errno.EBUSY
        ? "the name is taken by a device that is not a matching TUN (or is busy without multiQueue)"
        : errno === Errno.EINVAL
        ? "the name is taken by a non-TUN interface, or the flags conflict with the existing device"
        : undefined,
      errno,
    );
  }
  const end = ifreq.subarray(0, IFREQ_SIZE).indexOf(0);
  const actual = new TextDecoder().decode(ifreq.subarray(0, end < 0 || end > 15 ? 15 : end));
  return new TunDevice(fd, actual);
}
