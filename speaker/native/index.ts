import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Raw sockets for the speaker. AF_PACKET: whole Ethernet frames of one ethertype on one
 * interface (ARP is not an IP protocol). ICMPv6: Neighbor Discovery with hop limit 255 and
 * multicast membership, received hop limit and source selection, which raw-socket 1.8 lacks
 * (docs/decisions/050). The C addon lives in ./src/packet.c and is built by `npm run build:native`
 * (also the package's install script).
 */
export interface PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  /** Lower-case colon form, e.g. "02:00:00:00:00:01". */
  readonly mac: string;
  /** Sends one whole frame (destination MAC first). Throws if the socket is closed or send fails. */
  send(frame: Buffer): void;
  /** Idempotent; safe to call from inside the frame callback. */
  close(): void;
}

/**
 * An IPPROTO_ICMPV6 raw socket bound to one interface: only the given ICMPv6 types arrive, hop
 * limit 255 on everything sent (unicast and multicast), the kernel fills in the checksum.
 */
export interface Icmp6Socket {
  readonly ifname: string;
  readonly ifindex: number;
  /**
   * Sends one ICMPv6 message (type first) to a 16-byte address; zone = this interface. `source`
   * (16 bytes) sets the IPv6 source even if it is not configured locally (IPV6_FREEBIND).
   */
  send(destination: Buffer, message: Buffer, source?: Buffer): void;
  /** Joins / leaves a multicast group (16 bytes) on this interface. */
  join(group: Buffer): void;
  leave(group: Buffer): void;
  close(): void;
}

/** `source` is the sender's address (text, no zone); `hopLimit` the received hop limit or -1. */
export type Icmp6Handler = (message: Buffer, source: string, hopLimit: number) => void;

/** A netlink subscription to link and address changes; see openLinkMonitor. */
export interface LinkMonitor {
  close(): void;
}

interface Addon {
  open(ifname: string, ethertype: number, onFrame: (frame: Buffer) => void): PacketSocket;
  openIcmp6(ifname: string, types: number[], onMessage: Icmp6Handler): Icmp6Socket;
  openLinkMonitor(onChange: () => void): LinkMonitor;
}

export const BUILD_COMMAND = 'npm run build:native';
const ADDON_FILE = 'portico_packet.node';

/** Where the addon may be: next to this file (source tree) or in the source tree from dist/. */
function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list = [join(here, 'build', 'Release', ADDON_FILE)];
  // dist/speaker/native/index.js → <repo>/speaker/native/build/Release
  list.push(resolve(here, '..', '..', '..', 'speaker', 'native', 'build', 'Release', ADDON_FILE));
  const override = process.env.PORTICO_PACKET_ADDON;
  if (override) list.unshift(override);
  return list;
}

let cached: Addon | undefined;

/**
 * Loads the addon once; throws an Error naming the build command if it is missing or broken.
 * `paths` replaces the search list (tests) and bypasses the cache.
 */
export function loadPacketAddon(paths?: string[]): Addon {
  if (cached && !paths) return cached;
  const require = createRequire(import.meta.url);
  const tried = paths ?? candidates();
  const path = tried.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `speaker: the AF_PACKET addon (${ADDON_FILE}) is not built; looked in ${tried.join(', ')}. ` +
        `Build it with \`${BUILD_COMMAND}\` (needs a C compiler and Node headers).`,
    );
  }
  try {
    const mod = require(path) as Addon;
    if (
      typeof mod.open !== 'function' ||
      typeof mod.openIcmp6 !== 'function' ||
      typeof mod.openLinkMonitor !== 'function'
    ) {
      throw new Error('it lacks open()/openIcmp6()/openLinkMonitor(): an old build');
    }
    if (!paths) cached = mod;
    return mod;
  } catch (err) {
    throw new Error(
      `speaker: the AF_PACKET addon at ${path} failed to load (${(err as Error).message}). ` +
        `Rebuild it with \`${BUILD_COMMAND}\`.`,
    );
  }
}

/**
 * Opens an AF_PACKET socket bound to `ifname` for `ethertype` (e.g. 0x0806 for ARP).
 * `onFrame` gets each received frame (a fresh Buffer, destination MAC first). Our own outgoing
 * frames are not delivered where the kernel supports PACKET_IGNORE_OUTGOING (Linux ≥ 4.20).
 * Needs CAP_NET_RAW. The socket keeps the event loop alive until closed.
 */
export function openPacketSocket(
  ifname: string,
  ethertype: number,
  onFrame: (frame: Buffer) => void,
): PacketSocket {
  return loadPacketAddon().open(ifname, ethertype, onFrame);
}

/** Opens an ICMPv6 raw socket on `ifname` receiving only `types` (e.g. [135] for NS). Needs CAP_NET_RAW. */
export function openIcmp6Socket(ifname: string, types: number[], onMessage: Icmp6Handler): Icmp6Socket {
  return loadPacketAddon().openIcmp6(ifname, types, onMessage);
}

/**
 * Calls `onChange` (no arguments) after each burst of link or address changes in this network
 * namespace (NETLINK_ROUTE, groups link + IPv4/IPv6 address). No privileges needed.
 */
export function openLinkMonitor(onChange: () => void): LinkMonitor {
  return loadPacketAddon().openLinkMonitor(onChange);
}
