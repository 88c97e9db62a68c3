/**
 * The device the daemon drives: the userspace WireGuard device on a TUN interface that carries
 * this node's mesh addresses, or (`--no-tun`) the gossip port as a device without peers.
 */

import { encodeBase64 } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";
import { meshIpv4Bytes, meshIpv6Bytes } from "../identity/mesh_address.ts";
import type { Logger } from "../log/logger.ts";
import { UserspaceDevice } from "../device/userspace_device.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { RouteNetlink } from "../../ffi/rtnetlink.ts";
import type { MeshTransport } from "./mesh_transport.ts";
import type { MeshDevice } from "./node_options.ts";

/** Thrown when the TUN interface cannot be given its mesh addresses. */
export class DaemonDeviceError extends MeshguardError {}

/** How the daemon's TUN device starts (from `up`'s options). */
export interface TunDeviceOptions {
  interfaceName: string;
  mtu: number;
  port: number;
  workers?: number;
  offload?: boolean;
  /** This node's Ed25519 public key: its mesh addresses go on the interface. */
  publicKey: Uint8Array;
  log: Logger;
  /** Datagrams on the mesh port that are not WireGuard's (membership, STUN answers). */
  onSwimDatagrams: (datagrams: ForeignDatagram[]) => void;
  /** The data plane failed (the daemon stops). */
  onFailure: (message: string) => void;
}

/**
 * Starts the userspace device and gives its interface our mesh addresses; throws
 * DaemonDeviceError when the addresses cannot be set (the device is then the caller's to stop:
 * `onStarted` has it already).
 */
export async function startTunDevice(
  options: TunDeviceOptions,
  onStarted: (device: UserspaceDevice) => void,
): Promise<UserspaceDevice> {
  const { interfaceName, log } = options;
  const device = await UserspaceDevice.start({
    interfaceName,
    mtu: options.mtu,
    listenPort: options.port,
    workers: options.workers,
    offload: options.offload,
    log: (message) => log.info(message),
    onTimerRule: log.enabled("debug")
      ? (rule, peer) => log.debug(`wireguard timer ${rule} for ${encodeBase64(peer)}`)
      : undefined,
    onSwimDatagrams: options.onSwimDatagrams,
    onFailure: options.onFailure,
  });
  onStarted(device);
  const netlink = RouteNetlink.open();
  try {
    // Prefix lengths make the kernel add the mesh routes through the interface.
    netlink.addAddress(interfaceName, meshIpv4Bytes(options.publicKey), 16);
    netlink.addAddress(interfaceName, meshIpv6Bytes(options.publicKey), 64);
  } catch (error) {
    throw new DaemonDeviceError(
      `cannot give ${interfaceName} its mesh addresses: ${(error as Error).message}`,
    );
  } finally {
    netlink.close();
  }
  return device;
}

/** The gossip-only port as a device: it sends membership's datagrams and holds no peers. */
export function gossipOnlyDevice(gossip: MeshTransport): MeshDevice {
  return {
    configure: () => ({ added: 0, updated: 0, removed: 0 }),
    sendDatagrams: (datagrams) => gossip.send(datagrams),
    devicePeers: () => [],
    stop: () => gossip.close(),
  };
}
