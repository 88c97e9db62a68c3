/**
 * A userspace device's kernel interface: its TUN queues created (offloads probed), its MTU set
 * and the link brought up, and the link removed when the device stops.
 */

import { RouteNetlink } from "../../ffi/rtnetlink.ts";
import { openTunQueues, type TunQueues } from "./tun_queues.ts";
import { DeviceError } from "./device_options.ts";

/** Creates interface `name` with `count` queues; throws DeviceError with the kernel's reason. */
export function createInterface(name: string, count: number, offload: boolean): TunQueues {
  try {
    return openTunQueues(name, count, offload);
  } catch (error) {
    throw new DeviceError(`cannot create interface ${name}: ${(error as Error).message}`);
  }
}

/** Sets the interface's MTU and brings its link up. */
export function bringUp(name: string, mtu: number): void {
  const netlink = RouteNetlink.open();
  try {
    netlink.setMtu(name, mtu);
    netlink.setLinkUp(name);
  } finally {
    netlink.close();
  }
}

/** Removes the link (closing its last queue normally has); quiet when it is already gone. */
export function removeInterface(name: string): void {
  try {
    const netlink = RouteNetlink.open();
    try {
      netlink.deleteLink(name);
    } finally {
      netlink.close();
    }
  } catch {
    // Already gone, as expected.
  }
}
