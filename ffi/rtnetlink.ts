/**
 * Link, address and route configuration over an AF_NETLINK/NETLINK_ROUTE socket with
 * hand-built messages (never by running `ip`). Every request asks for an ACK and the kernel's
 * errno (plus its extended-ACK text) becomes a `NetlinkError`. Struct layouts are Linux's
 * (identical on every architecture): nlmsghdr 16 B, ifinfomsg 16 B, ifaddrmsg 8 B, rtmsg 12 B,
 * rtattr 4 B header, everything 4-byte aligned, host byte order (little endian on x86_64).
 */

import { Errno, InvalidArgumentError, NetlinkError } from "./errors.ts";
import { closeDescriptor, describeErrno, lastErrno, libc, systemCallError } from "./libc.ts";
import { PollSet } from "./poll.ts";

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
/** Don't echo our request back inside error messages. */
const NETLINK_CAP_ACK = 10;
/** Ask the kernel for a human-readable reason with each error. */
const NETLINK_EXT_ACK = 11;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x001;
const NLM_F_ACK = 0x004;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
/** In an error/ACK: extended-ACK attributes follow the (capped) original header. */
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;

const IFF_UP = 0x1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_PRIORITY = 6;
const RTA_TABLE = 15;
const RT_TABLE_MAIN = 254;
/** What `ip route add` stamps on routes an administrator adds. */
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;

const NLMSGHDR_SIZE = 16;
const REQUEST_CAPACITY = 1024;
const RESPONSE_CAPACITY = 32768;
/** The kernel answers rtnetlink synchronously; this bound only guards against a lost reply. */
const REPLY_TIMEOUT_MS = 5000;

/** A link by index, or by name (resolved with RTM_GETLINK on each call). */
export type LinkRef = number | string;

/** Options of address and route additions. */
export interface AddOptions {
  /** Replace an existing entry (NLM_F_REPLACE) instead of failing with EEXIST (NLM_F_EXCL). */
  replace?: boolean;
}

/** Options of route additions. */
export interface RouteOptions extends AddOptions {
  /** Routing table id (default: main, 254). */
  table?: number;
  /** Route metric (RTA_PRIORITY); omitted = kernel default. */
  metric?: number;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** The family for a 4- or 16-byte address; anything else is refused. */
function familyOf(address: Uint8Array, what: string): number {
  if (address.length === 4) return AF_INET;
  if (address.length === 16) return AF_INET6;
  throw new InvalidArgumentError(
    `${what} must be 4 (IPv4) or 16 (IPv6) bytes, got ${address.length}`,
  );
}

function checkPrefix(address: Uint8Array, prefixLength: number, what: string): void {
  const max = address.length * 8;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max) {
    throw new InvalidArgumentError(`${what} prefix length ${prefixLength} is not in 0..${max}`);
  }
}

/** Text form of an address for error messages only (no RFC 5952 compression needed). */
function addressText(address: Uint8Array): string {
  if (address.length === 4) return address.join(".");
  const groups: string[] = [];
  for (let i = 0; i + 1 < address.length; i += 2) {
    groups.push(((address[i] << 8) | address[i + 1]).toString(16));
  }
  return groups.join(":");
}

/** An open rtnetlink socket; one request at a time, each checked against the kernel's ACK. */
export class RouteNetlink {
  readonly #fd: number;
  readonly #request = new Uint8Array(REQUEST_CAPACITY);
  readonly #requestView = new DataView(this.#request.buffer);
  readonly #response = new Uint8Array(RESPONSE_CAPACITY);
  readonly #responseView = new DataView(this.#response.buffer);
  readonly #poll: PollSet;
  #length = 0;
  #sequence = 1;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#poll = new PollSet([fd]);
  }

  /** Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
  static open(): RouteNetlink {
    const fd = libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw systemCallError("socket(AF_NETLINK, NETLINK_ROUTE)");
    const one = new Uint8Array(4);
    new DataView(one.buffer).setInt32(0, 1, true);
    // Both options are best effort: kernels before 4.12 lack extended ACKs and still work.
    libc().setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
    libc().setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
    const address = new Uint8Array(12); // sockaddr_nl: family, pad, pid 0 = kernel assigns
    new DataView(address.buffer).setUint16(0, AF_NETLINK, true);
    if (libc().bind(fd, address, address.length) !== 0) {
      const error = systemCallError("bind(AF_NETLINK)");
      libc().close(fd);
      throw error;
    }
    return new RouteNetlink(fd);
  }

  /** The interface index of `name` (RTM_GETLINK); NetlinkError ENODEV when there is none. */
  linkIndex(name: string): number {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length > 15) {
      throw new InvalidArgumentError(`interface name "${name}" must be 1..15 bytes`);
    }
    this.#begin(RTM_GETLINK, 0);
    this.#ifinfomsg(AF_UNSPEC, 0, 0, 0);
    const nameWithNul = new Uint8Array(bytes.length + 1);
    nameWithNul.set(bytes);
    this.#attribute(IFLA_IFNAME, nameWithNul);
    let index = 0;
    this.#exchange(`RTM_GETLINK ${name}`, (type, offset) => {
      // ifinfomsg.ifi_index sits 4 bytes into the payload.
      if (type === RTM_NEWLINK) index = this.#responseView.getInt32(offset + 4, true);
    });
    if (index <= 0) {
      throw new NetlinkError(`RTM_GETLINK ${name}`, Errno.ENODEV, "no such device", "");
    }
    return index;
  }

  /** Brings a link administratively up (or down with `up = false`). */
  setLinkUp(link: LinkRef, up = true): void {
    const index = this.#resolve(link);
    this.#begin(RTM_NEWLINK, 0);
    this.#ifinfomsg(AF_UNSPEC, index, up ? IFF_UP : 0, IFF_UP);
    this.#exchange(`RTM_NEWLINK ${up ? "up" : "down"} ifindex ${index}`);
  }

  /** Sets a link's MTU. */
  setMtu(link: LinkRef, mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new InvalidArgumentError(`MTU ${mtu} is not in 68..65535`);
    }
    const index = this.#resolve(link);
    this.#begin(RTM_NEWLINK, 0);
    this.#ifinfomsg(AF_UNSPEC, index, 0, 0);
    this.#u32Attribute(IFLA_MTU, mtu);
    this.#exchange(`RTM_NEWLINK mtu ${mtu} ifindex ${index}`);
  }

  /** Adds `address/prefixLength` (4 or 16 address bytes) to a link; `replace` overwrites. */
  addAddress(
    link: LinkRef,
    address: Uint8Array,
    prefixLength: number,
    options: AddOptions = {},
  ): void {
    const family = familyOf(address, "address");
    checkPrefix(address, prefixLength, "address");
    const index = this.#resolve(link);
    this.#begin(RTM_NEWADDR, NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL));
    // struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index; }
    const at = this.#reserve(8);
    this.#request[at] = family;
    this.#request[at + 1] = prefixLength;
    this.#request[at + 2] = 0;
    this.#request[at + 3] = RT_SCOPE_UNIVERSE;
    this.#requestView.setUint32(at + 4, index, true);
    // On a non-point-to-point link local and peer address are the same.
    this.#attribute(IFA_LOCAL, address);
    this.#attribute(IFA_ADDRESS, address);
    this.#exchange(`RTM_NEWADDR ${addressText(address)}/${prefixLength} on ifindex ${index}`);
  }

  /** Adds (or with `replace`, replaces) a route to `destination/prefixLength` via the link. */
  addRoute(
    link: LinkRef,
    destination: Uint8Array,
    prefixLength: number,
    options: RouteOptions = {},
  ): void {
    const family = familyOf(destination, "route destination");
    checkPrefix(destination, prefixLength, "route");
    const table = options.table ?? RT_TABLE_MAIN;
    const index = this.#resolve(link);
    this.#begin(RTM_NEWROUTE, NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL));
    // struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
    const at = this.#reserve(12);
    this.#request.set([
      family,
      prefixLength,
      0,
      0,
      table < 256 ? table : 0, // larger ids only fit in RTA_TABLE
      RTPROT_BOOT,
      // A gateway-less IPv4 route is on-link; IPv6 routes are always universe scope.
      family === AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
      RTN_UNICAST,
    ], at);
    this.#requestView.setUint32(at + 8, 0, true);
    // The kernel wants the destination masked to its prefix ("Invalid prefix for given prefix
    // length" otherwise), so send the network address, not whatever host bits came in.
    const network = destination.slice();
    for (let bit = prefixLength; bit < network.length * 8; bit++) {
      network[bit >> 3] &= ~(0x80 >> (bit & 7));
    }
    if (prefixLength > 0) this.#attribute(RTA_DST, network); // always the full address length
    this.#u32Attribute(RTA_OIF, index);
    if (table >= 256) this.#u32Attribute(RTA_TABLE, table);
    if (options.metric !== undefined) this.#u32Attribute(RTA_PRIORITY, options.metric);
    this.#exchange(`RTM_NEWROUTE ${addressText(network)}/${prefixLength} via ifindex ${index}`);
  }

  /** Deletes a link (a TUN interface goes away even while its fd is open). */
  deleteLink(link: LinkRef): void {
    const index = this.#resolve(link);
    this.#begin(RTM_DELLINK, 0);
    this.#ifinfomsg(AF_UNSPEC, index, 0, 0);
    this.#exchange(`RTM_DELLINK ifindex ${index}`);
  }

  /** Closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeDescriptor(this.#fd, "netlink socket");
  }

  #resolve(link: LinkRef): number {
    if (typeof link === "string") return this.linkIndex(link);
    if (!Number.isInteger(link) || link <= 0) {
      throw new InvalidArgumentError(`interface index ${link} must be a positive integer`);
    }
    return link;
  }

  /** Starts a request: the nlmsghdr is completed (length) when it is sent. */
  #begin(type: number, flags: number): void {
    if (this.#closed) throw new InvalidArgumentError("the netlink socket is closed");
    this.#request.fill(0);
    this.#length = NLMSGHDR_SIZE;
    this.#requestView.setUint16(4, type, true);
    this.#requestView.setUint16(6, NLM_F_REQUEST | NLM_F_ACK | flags, true);
    this.#sequence = (this.#sequence + 1) >>> 0;
    this.#requestView.setUint32(8, this.#sequence, true);
  }

  #reserve(size: number): number {
    const at = this.#length;
    this.#length = align4(at + size);
    if (this.#length > REQUEST_CAPACITY) throw new InvalidArgumentError("netlink request too big");
    return at;
  }

  /** struct ifinfomsg { u8 family, pad; u16 type; i32 index; u32 flags, change; } */
  #ifinfomsg(family: number, index: number, flags: number, change: number): void {
    const at = this.#reserve(16);
    this.#request[at] = family;
    this.#requestView.setInt32(at + 4, index, true);
    this.#requestView.setUint32(at + 8, flags, true);
    this.#requestView.setUint32(at + 12, change, true);
  }

  #attribute(type: number, value: Uint8Array): void {
    const at = this.#reserve(4 + value.length);
    this.#requestView.setUint16(at, 4 + value.length, true);
    this.#requestView.setUint16(at + 2, type, true);
    this.#request.set(value, at + 4);
  }

  #u32Attribute(type: number, value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    this.#attribute(type, bytes);
  }

  /**
   * Sends the request and reads replies until the ACK for our sequence number, handing every
   * other message with our sequence to `onMessage(type, payloadOffset)`. Throws NetlinkError
   * on a negative ACK.
   */
  #exchange(what: string, onMessage?: (type: number, offset: number) => void): void {
    this.#requestView.setUint32(0, this.#length, true);
    // sockaddr_nl of the kernel (pid 0): needed because the socket is not connected.
    const kernel = new Uint8Array(12);
    new DataView(kernel.buffer).setUint16(0, AF_NETLINK, true);
    for (;;) {
      const sent = libc().sendto(this.#fd, this.#request, this.#length, 0, kernel, kernel.length);
      if (sent >= 0) break;
      if (lastErrno() !== Errno.EINTR) throw systemCallError(`sendto(netlink) for ${what}`);
    }
    const deadline = performance.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const remaining = Math.max(0, Math.ceil(deadline - performance.now()));
      if (this.#poll.wait(remaining) === 0) {
        throw new NetlinkError(what, Errno.ETIMEDOUT, "no reply from the kernel", "");
      }
      const received = libc().recvfrom(this.#fd, this.#response, RESPONSE_CAPACITY, 0, null, null);
      if (received < 0) {
        if (lastErrno() === Errno.EINTR) continue;
        throw systemCallError(`recvfrom(netlink) for ${what}`);
      }
      let offset = 0;
      while (offset + NLMSGHDR_SIZE <= received) {
        const length = this.#responseView.getUint32(offset, true);
        if (length < NLMSGHDR_SIZE || offset + length > received) break;
        const type = this.#responseView.getUint16(offset + 4, true);
        const flags = this.#responseView.getUint16(offset + 6, true);
        const sequence = this.#responseView.getUint32(offset + 8, true);
        const payload = offset + NLMSGHDR_SIZE;
        if (sequence === this.#sequence) {
          if (type === NLMSG_ERROR) {
            const errno = -this.#responseView.getInt32(payload, true);
            if (errno === 0) return;
            const detail = this.#extendedAckMessage(payload, offset + length, flags);
            throw new NetlinkError(what, errno, describeErrno(errno), detail, hintFor(errno));
          }
          if (type === NLMSG_DONE) return;
          onMessage?.(type, payload);
        }
        offset += align4(length);
      }
    }
  }

  /** NLMSGERR_ATTR_MSG from an error message: after the errno and the (capped) request header. */
  #extendedAckMessage(payload: number, end: number, flags: number): string {
    if ((flags & NLM_F_ACK_TLVS) === 0) return "";
    const requestLength = this.#responseView.getUint32(payload + 4, true);
    // With NETLINK_CAP_ACK only the request's 16-byte header is echoed (NLM_F_CAPPED).
    let at = payload + 4 + ((flags & 0x100) !== 0 ? NLMSGHDR_SIZE : align4(requestLength));
    while (at + 4 <= end) {
      const length = this.#responseView.getUint16(at, true);
      const type = this.#responseView.getUint16(at + 2, true) & 0x3fff;
      if (length < 4 || at + length > end) break;
      if (type === NLMSGERR_ATTR_MSG) {
        const text = this.#response.subarray(at + 4, at + length);
        const nul = text.indexOf(0);
        return new TextDecoder().decode(nul < 0 ? text : text.subarray(0, nul));
      }
      at += align4(length);
    }
    return "";
  }
}

function hintFor(errno: number): string | undefined {
  switch (errno) {
    case Errno.EPERM:
    case Errno.EACCES:
      return "run as root or grant the process CAP_NET_ADMIN";
    case Errno.ENODEV:
      return "no interface with that index or name exists in this network namespace";
    case Errno.EEXIST:
      return "it already exists: pass { replace: true } to overwrite it";
    case Errno.ENETDOWN:
      return "bring the link up (setLinkUp) before adding routes through it";
    default:
      return undefined;
  }
}
