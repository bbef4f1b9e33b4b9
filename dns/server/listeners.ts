// The socket shell of one serving thread: a UDP socket and a TCP server on the same port, both
// handing every message to the pure `answer()` and writing back what it returns.
//
// TCP follows RFC 7766: 2-byte length prefix, any number of queries per connection processed in
// order as they arrive (pipelining; we answer synchronously, so responses keep query order), an idle
// timeout, a connection cap, and back-pressure (stop reading while the socket's buffer is full).
// `reusePort` lets several threads bind the same port; the kernel spreads datagrams and
// connections across them (Linux SO_REUSEPORT).

import dgram from 'node:dgram';
import net, { isIPv6 } from 'node:net';
import { truncateResponse } from '../wire/truncate.ts';
import { type AnswerInfo, type AnswerOptions, answer, answerInto } from '../zone/answer.ts';
import type { SnapshotSet } from '../zone/snapshot.ts';
import {
  type NativeUdpSocket,
  nativeUdp,
  nativeUdpLoadError,
  openNativeUdp,
  sockaddrToString,
} from './native-udp.ts';
import { RateLimiter, type RateLimitOptions } from './rrl.ts';
import { QueryStats, type StatsSnapshot } from './stats.ts';

export interface ListenerOptions {
  address: string;
  /** 0 = pick a free port (the same one for UDP and TCP). */
  port: number;
  maxUdpPayload: number;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  rateLimit?: RateLimitOptions | undefined;
  reusePort: boolean;
  latencySampleEvery: number;
  /**
   * UDP I/O: 'native' = batched recvmmsg/sendmmsg (dns/native, must be built), 'node' = node:dgram,
   * 'auto' = native when the addon loads. Default 'auto'.
   */
  udpIo?: 'auto' | 'native' | 'node';
  /** SO_RCVBUF requested for the UDP socket (the kernel caps it at net.core.rmem_max); 0 = the kernel's default. */
  udpRcvbuf?: number;
}

export interface Listeners {
  port: number;
  /** Counters since start (cumulative) and latency samples since the previous drain. */
  drain(): StatsSnapshot;
  /** Which UDP path is serving. */
  udpIo: 'native' | 'node';
  stats: QueryStats;
  /** Swap the served snapshots (null = not synced: SERVFAIL). */
  setSnapshots(set: SnapshotSet | null): void;
  tcpConnections(): number;
  close(): Promise<void>;
}

/** Default SO_RCVBUF request: bursts beyond one event-loop turn queue in the kernel instead of being lost. */
export const DEFAULT_UDP_RCVBUF = 4 * 1024 * 1024;

function bindUdp(
  type: 'udp4' | 'udp6',
  address: string,
  port: number,
  reusePort: boolean,
  rcvbuf: number,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({
      type,
      reuseAddr: reusePort,
      reusePort,
      // Bursts beyond one event-loop turn queue in the kernel; a larger buffer turns them into latency
      // instead of loss. The kernel clamps this to net.core.rmem_max / wmem_max.
      ...(rcvbuf > 0 ? { recvBufferSize: rcvbuf } : {}),
      sendBufferSize: 1024 * 1024,
      // The destination is always a literal address from rinfo: skip dns.lookup's nextTick hop.
      lookup: (addr, _opts, cb) =>
        (cb as (e: null, a: string, f: number) => void)(null, addr, type === 'udp4' ? 4 : 6),
    });
    sock.once('error', reject);
    sock.bind(port, address, () => {
      sock.off('error', reject);
      resolve(sock);
    });
  });
}

function listenTcp(server: net.Server, address: string, port: number, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, reusePort, exclusive: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startListeners(o: ListenerOptions): Promise<Listeners> {
  let set: SnapshotSet | null = null;
  const stats = new QueryStats(o.latencySampleEvery);
  const limiter = o.rateLimit ? new RateLimiter(o.rateLimit) : undefined;
  const udpOpts: AnswerOptions = { tcp: false, maxUdpPayload: o.maxUdpPayload };
  const tcpOpts: AnswerOptions = { tcp: true, maxUdpPayload: o.maxUdpPayload };
  const info: AnswerInfo = { qtype: 0, rcode: 0, truncated: false };
  const type = isIPv6(o.address) ? 'udp6' : 'udp4';
  const rcvbuf = o.udpRcvbuf ?? DEFAULT_UDP_RCVBUF;

  const handle = (msg: Uint8Array, tcp: boolean): Uint8Array | null => {
    const sampled = stats.shouldSample();
    const t0 = sampled ? performance.now() : 0;
    const out = answer(msg, set, tcp ? tcpOpts : udpOpts, info);
    if (out === null) {
      stats.dropped++;
      return null;
    }
    stats.count(tcp, info.qtype, info.rcode);
    if (info.truncated) stats.truncated++;
    if (sampled) stats.sample((performance.now() - t0) / 1000);
    return out;
  };

  const addon = o.udpIo === 'node' ? null : nativeUdp();
  if (o.udpIo === 'native' && !addon) {
    throw new Error(`--udp-io native: the addon is not built (${nativeUdpLoadError()}); see dns/native`);
  }

  // Native path: a batch of datagrams per JS call; answers are written straight into the shared
  // output buffer (answerInto), so a query allocates nothing. An answer may be replayed by the addon
  // (ADR 048) unless rate limiting is on (its decision is per client) or it was truncated (counted
  // separately); `replayCell` is read right after each serveNative call.
  let replayCell = -1;
  const serveNative = (
    msg: Uint8Array,
    addr: Uint8Array,
    addrOff: number,
    out: Uint8Array,
    outOff: number,
  ) => {
    const sampled = stats.shouldSample();
    const t0 = sampled ? performance.now() : 0;
    const n = answerInto(msg, set, udpOpts, info, out, outOff);
    replayCell = -1;
    if (n === 0) {
      stats.dropped++;
      return 0;
    }
    const cell = stats.cell(false, info.qtype, info.rcode);
    stats.queries[cell]!++;
    if (info.truncated) stats.truncated++;
    else if (!limiter) replayCell = cell;
    if (sampled) stats.sample((performance.now() - t0) / 1000);
    if (limiter) {
      const d = limiter.check(sockaddrToString(addr, addrOff), Date.now());
      if (d !== 'send') {
        stats.rateLimited++;
        if (d === 'drop') return 0;
        const t = truncateResponse(out.subarray(outOff, outOff + n));
        if (t === null) return 0;
        out.set(t, outOff);
        return t.length;
      }
    }
    return n;
  };

  // UDP and TCP must share a port number; with port 0 retry until both binds succeed.
  let udp: dgram.Socket | undefined;
  let native: NativeUdpSocket | undefined;
  const tcpServer = net.createServer({ noDelay: true, pauseOnConnect: false });
  for (let attempt = 0; ; attempt++) {
    let port: number;
    if (addon) {
      native = openNativeUdp(
        addon,
        o.address,
        o.port,
        o.reusePort,
        rcvbuf,
        // With rate limiting nothing is replayed: the event loop reads the socket itself.
        !limiter,
        stats.queries.length,
        () => replayCell,
        serveNative,
      );
      port = native.port;
    } else {
      udp = await bindUdp(type, o.address, o.port, o.reusePort, rcvbuf);
      port = udp.address().port;
    }
    try {
      await listenTcp(tcpServer, o.address, port, o.reusePort);
      break;
    } catch (err) {
      udp?.close();
      native?.close();
      udp = undefined;
      native = undefined;
      if (o.port !== 0 || attempt >= 20) throw err;
    }
  }
  const port = native ? native.port : udp!.address().port;
  tcpServer.maxConnections = o.tcpMaxConnections;

  const udpSock = udp;
  udpSock?.on('message', (msg, rinfo) => {
    let out = handle(msg, false);
    if (out === null) return;
    if (limiter) {
      const d = limiter.check(rinfo.address, Date.now());
      if (d !== 'send') {
        stats.rateLimited++;
        if (d === 'drop') return;
        out = truncateResponse(out);
        if (out === null) return;
      }
    }
    udpSock.send(out, rinfo.port, rinfo.address);
  });
  // A send to an unreachable client must not kill the process.
  udpSock?.on('error', () => {
    stats.sendErrors++;
  });

  const conns = new Set<net.Socket>();
  tcpServer.on('connection', (sock) => {
    conns.add(sock);
    sock.setTimeout(o.tcpIdleTimeoutMs, () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    let waiting = false;
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (pending.length - off >= 2) {
        const len = pending.readUInt16BE(off);
        if (pending.length - off < 2 + len) break;
        const out = handle(pending.subarray(off + 2, off + 2 + len), true);
        off += 2 + len;
        if (out === null) continue;
        const frame = Buffer.allocUnsafe(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        frame.set(out, 2);
        if (!sock.write(frame) && !waiting) {
          waiting = true;
          sock.pause();
          sock.once('drain', () => {
            waiting = false;
            sock.resume();
          });
        }
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
  });

  // The native path counts in C: [0]+[3] send failures, [1] datagrams too large for a receive slot,
  // [2] replayed answers, each also counted per query cell in replayStats (written by the addon's
  // receive thread, added to this thread's counts here).
  let nativeSeen = [0, 0, 0, 0];
  const drain = (): StatsSnapshot => {
    if (!native) return stats.drain();
    const c = native.counters;
    stats.sendErrors += c[0]! - nativeSeen[0]! + (c[3]! - nativeSeen[3]!);
    stats.dropped += c[1]! - nativeSeen[1]!;
    stats.replayed += c[2]! - nativeSeen[2]!;
    nativeSeen = [c[0]!, c[1]!, c[2]!, c[3]!];
    const snap = stats.drain();
    const r = native.replayStats;
    for (let i = 0; i < snap.queries.length; i++) snap.queries[i]! += r[i]!;
    return snap;
  };

  return {
    port,
    drain,
    udpIo: native ? 'native' : 'node',
    stats,
    setSnapshots(s) {
      set = s;
      native?.invalidate();
    },
    tcpConnections: () => conns.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        udpSock?.close();
        native?.close();
        tcpServer.close(() => resolve());
      }),
  };
}
