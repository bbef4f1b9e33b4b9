// Batched UDP via dns/native (recvmmsg/sendmmsg on the addon's own receive thread, which replays
// cached answers itself and hands only the other datagrams to JavaScript). Optional: when the addon
// is not built, or the platform is not Linux, the listeners fall back to node:dgram. See
// docs/decisions/045-batched-udp.md, 048-answer-replay-cache.md and 049-native-receive-thread.md.

import { createRequire } from 'node:module';

interface Addon {
  open(address: string, port: number, reusePort: boolean, rcvbuf: number): [number, number];
  start(
    fd: number,
    input: Uint8Array,
    inLen: Int32Array,
    output: Uint8Array,
    outLen: Int32Array,
    addr: Uint8Array,
    counters: Float64Array,
    tag: Int32Array,
    replayStats: Float64Array,
    onBatch: (n: number) => void,
    threaded: boolean,
  ): object;
  stop(handle: object): void;
  invalidate(handle: object): void;
  BATCH: number;
  IN_SLOT: number;
  OUT_SLOT: number;
  ADDR_SLOT: number;
}

let addon: Addon | null | undefined;
let loadError: string | undefined;

export function nativeUdp(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    // dns/server/ in the source tree; dist/dns/server/ in a build, whose addon stays in the
    // source tree's dns/native/build unless the image copied it next to the build.
    const require = createRequire(import.meta.url);
    const candidates = [
      '../native/build/Release/portico_udp.node',
      '../../../dns/native/build/Release/portico_udp.node',
    ];
    let found: Addon | undefined;
    let firstError: unknown;
    for (const c of candidates) {
      try {
        found = require(c) as Addon;
        break;
      } catch (err) {
        firstError ??= err;
      }
    }
    if (!found) throw firstError;
    addon = found;
  } catch (err) {
    addon = null;
    loadError = (err as Error).message;
  }
  return addon;
}

export function nativeUdpLoadError(): string | undefined {
  return loadError;
}

/**
 * The log line for a server that asked for the default UDP path ('auto') but serves with
 * node:dgram because the addon did not load; undefined when there is nothing to say.
 */
export function udpFallbackWarning(
  requested: string | undefined,
  serving: 'native' | 'node',
): string | undefined {
  if (serving === 'native' || requested === 'node') return undefined;
  nativeUdp();
  return (
    `UDP served by node:dgram, not the native batched path with answer replay (about twice the CPU per ` +
    `query): the dns/native addon did not load (${nativeUdpLoadError() ?? 'not supported on this platform'}); ` +
    'build it with `node dns/native/build.ts`'
  );
}

export interface NativeUdpSocket {
  port: number;
  /**
   * [0] answers built in JavaScript that could not be sent, [1] queries too large for a receive
   * slot, [2] answers replayed by the addon without a call into JavaScript, [3] replayed answers
   * that could not be sent, [4] times the receive thread waited for JavaScript to catch up.
   */
  counters: Float64Array;
  /**
   * Replayed answers per query counter cell (same layout as QueryStats.queries), written by the
   * addon's receive thread: add it to the thread's own counts.
   */
  replayStats: Float64Array;
  /** Forget every replayable answer: call whenever the answers could change (new snapshot). */
  invalidate(): void;
  close(): void;
}

/**
 * Bind and serve: `onQuery(msg, addr, addrOffset, out, outOffset)` answers one datagram of a batch
 * by writing into `out` at `outOffset` and returns the response length (0 = nothing to send).
 * Right after it, `replayCell()` says whether the addon may replay that response to any later
 * datagram with the same bytes after the ID (-1 = no; else the query counter cell, of `nstats`, that
 * a replay counts in, so replayed answers are counted exactly as answered ones). See ADR 048.
 */
export function openNativeUdp(
  a: Addon,
  address: string,
  port: number,
  reusePort: boolean,
  rcvbuf: number,
  /**
   * true: the addon's receive thread reads, replays hits and hands misses to the event loop
   * (ADR 049); false: the event loop polls the socket itself (when nothing can be replayed: a thread
   * hop would only add a wake-up per batch).
   */
  threaded: boolean,
  nstats: number,
  replayCell: () => number,
  onQuery: (
    msg: Uint8Array,
    addr: Uint8Array,
    addrOffset: number,
    out: Uint8Array,
    outOffset: number,
  ) => number,
): NativeUdpSocket {
  const [fd, bound] = a.open(address, port, reusePort, rcvbuf);
  const input = new Uint8Array(a.BATCH * a.IN_SLOT);
  const inLen = new Int32Array(a.BATCH);
  const output = new Uint8Array(a.BATCH * a.OUT_SLOT);
  const outLen = new Int32Array(a.BATCH);
  const addr = new Uint8Array(a.BATCH * a.ADDR_SLOT);
  const counters = new Float64Array(5);
  const replayStats = new Float64Array(nstats);
  const tag = new Int32Array(a.BATCH);
  // Views of (slot, length) are cached: queries come in a handful of lengths, so after warm-up a
  // batch allocates nothing.
  const CACHED_LEN = 512;
  const views: Array<Uint8Array | undefined> = new Array(a.BATCH * CACHED_LEN);
  const view = (i: number, len: number): Uint8Array => {
    const start = i * a.IN_SLOT;
    if (len >= CACHED_LEN) return input.subarray(start, start + len);
    const k = i * CACHED_LEN + len;
    let v = views[k];
    if (v === undefined) {
      v = input.subarray(start, start + len);
      views[k] = v;
    }
    return v;
  };
  const handle = a.start(
    fd,
    input,
    inLen,
    output,
    outLen,
    addr,
    counters,
    tag,
    replayStats,
    (n) => {
      for (let i = 0; i < n; i++) {
        const len = inLen[i]!;
        if (len < 0) {
          outLen[i] = 0;
          continue;
        }
        outLen[i] = onQuery(view(i, len), addr, i * a.ADDR_SLOT, output, i * a.OUT_SLOT);
        tag[i] = outLen[i]! > 0 ? replayCell() : -1;
      }
    },
    threaded,
  );
  let closed = false;
  return {
    port: bound,
    counters,
    replayStats,
    invalidate: () => {
      if (!closed) a.invalidate(handle);
    },
    close: () => {
      if (closed) return;
      closed = true;
      a.stop(handle);
    },
  };
}

/** Format the sockaddr a batch slot holds (for rate limiting keys and logs; slow path). */
export function sockaddrToString(addr: Uint8Array, off: number): string {
  const family = addr[off]! | (addr[off + 1]! << 8); // host byte order (little-endian on Linux x86/arm)
  if (family === 2) return `${addr[off + 4]}.${addr[off + 5]}.${addr[off + 6]}.${addr[off + 7]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(((addr[off + 8 + i * 2]! << 8) | addr[off + 9 + i * 2]!).toString(16));
  return groups.join(':');
}
