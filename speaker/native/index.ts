import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Raw sockets for the speaker. AF_PACKET: whole Ethernet frames of one ethertype on one
 * interface (ARP is not an IP protocol). ICMPv6: Neighbor Discovery with hop limit 255 and
 * multicast membership, received hop limit and source selection, which raw-socket 1.8 lacks
 * (docs/decisions/050). TCP for BGP: TCP MD5 (RFC 2385) and TTL set before connect (./src/tcp.c,
 * ADR 100). The C addon lives in ./src/ and is built by `npm run build:native` (also the package's
 * install script).
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
  tcpConnect(
    options: { address: string; port: number; source?: string; md5Key?: Buffer; ttl?: number },
    onDone: (err: (Error & { code?: string }) | null, fd: number) => void,
  ): { cancel(): void };
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
      typeof mod.openLinkMonitor !== 'function' ||
      typeof mod.tcpConnect !== 'function'
    ) {
      throw new Error('it lacks open()/openIcmp6()/openLinkMonitor()/tcpConnect(): an old build');
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

export interface TcpDialOptions {
  /** The peer, IPv4 or IPv6 text. */
  address: string;
  port: number;
  /** Local address to bind before connecting (port chosen by the kernel). */
  sourceAddress?: string;
  /**
   * TCP MD5 signature key (RFC 2385), 1..80 octets of UTF-8, set for `address` before the SYN is
   * sent. Copied into the kernel; never logged.
   */
  md5Password?: string;
  /** IP_TTL / IPV6_UNICAST_HOPS of every packet, 1..255; unset = the system default (64). */
  ttl?: number;
}

/** An outbound connection in progress; see dialTcp. */
export interface TcpDial {
  /** Abandons the attempt: the socket is closed and `onDone` is never called. Idempotent. */
  cancel(): void;
}

/**
 * Opens a TCP connection with options Node cannot set before connect() (TCP_MD5SIG, TTL): the
 * addon creates the socket, sets them, binds, starts a non-blocking connect and waits for it on
 * the libuv loop; the connected descriptor becomes a normal `net.Socket` (which owns and closes
 * it). `onDone(undefined, socket)` or `onDone(error)` (error.code e.g. 'ECONNREFUSED') is called
 * once, always asynchronously, unless cancelled. There is no connect timeout here: the caller's
 * timer cancels. No privileges needed.
 */
export function dialTcp(
  o: TcpDialOptions,
  onDone: (err: (Error & { code?: string }) | undefined, socket?: net.Socket) => void,
): TcpDial {
  const options: { address: string; port: number; source?: string; md5Key?: Buffer; ttl?: number } = {
    address: o.address,
    port: o.port,
  };
  if (o.sourceAddress) options.source = o.sourceAddress;
  if (o.md5Password !== undefined) options.md5Key = Buffer.from(o.md5Password, 'utf8');
  if (o.ttl !== undefined) options.ttl = o.ttl;
  let cancelled = false;
  let handle: { cancel(): void } | undefined;
  try {
    handle = loadPacketAddon().tcpConnect(options, (err, fd) => {
      if (cancelled) return;
      if (err) return onDone(err);
      let socket: net.Socket;
      try {
        socket = new net.Socket({ fd, readable: true, writable: true });
      } catch (e) {
        closeSync(fd);
        return onDone(e as Error);
      }
      onDone(undefined, socket);
    });
  } catch (err) {
    // Synchronous failures (bind, an immediate connect error) are reported like the others: later.
    setImmediate(() => {
      if (!cancelled) onDone(err as Error);
    });
  } finally {
    options.md5Key?.fill(0);
  }
  return {
    cancel() {
      cancelled = true;
      handle?.cancel();
    },
  };
}
