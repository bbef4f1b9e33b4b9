/**
 * A minimal BGP router for the peer shell's unit tests, built from our own codec: it listens on
 * loopback, answers an OPEN with its own OPEN + KEEPALIVE, keeps the session alive with
 * KEEPALIVEs (unless told to go silent), and keeps what it was sent: every message, a RIB of
 * prefix → attributes, End-of-RIB per family. Tests can send it anything, raw bytes included.
 */
import net from 'node:net';
import {
  buildOpen,
  type CodecContext,
  decodeBody,
  encodeMessage,
  isEndOfRib,
  type Message,
  type NotificationMessage,
  openAs,
  type PathAttribute,
  splitFrames,
} from '../../../speaker/bgp/codec.ts';

export interface FakeRouterOptions {
  as: number;
  id: string;
  holdTime?: number;
  /** Answer the speaker's OPEN automatically (default true). */
  autoOpen?: boolean;
  /** Families in our OPEN (default IPv4 + IPv6 unicast). */
  families?: { afi: number; safi: number }[];
}

export interface RibEntry {
  attributes: PathAttribute[];
  nextHop: string | undefined;
}

export class FakeConn {
  readonly messages: Message[] = [];
  readonly rib = new Map<string, RibEntry>();
  readonly eor = new Set<string>();
  readonly notifications: NotificationMessage[] = [];
  /** Each chunk the socket delivered (to see how the speaker batches). */
  chunks = 0;
  /** Stop sending KEEPALIVEs (the speaker's hold timer then expires). */
  silent = false;
  closed = false;
  /** Anything the speaker sent that did not decode cleanly (must stay empty). */
  readonly errors: string[] = [];
  readonly done: Promise<void>;
  private ctx: CodecContext = { fourOctetAs: true };
  private pending = Buffer.alloc(0);
  private keepalive: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];

  readonly socket: net.Socket;
  private readonly opts: FakeRouterOptions;

  constructor(socket: net.Socket, opts: FakeRouterOptions) {
    this.socket = socket;
    this.opts = opts;
    this.done = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        clearInterval(this.keepalive);
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  send(m: Message): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(m, this.ctx));
  }

  sendRaw(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /** The OPEN this router sends (autoOpen does it on the speaker's OPEN). */
  open(overrides: { as?: number; holdTime?: number } = {}): void {
    const o = buildOpen({
      asn: overrides.as ?? this.opts.as,
      holdTime: overrides.holdTime ?? this.opts.holdTime ?? 9,
      bgpId: this.opts.id,
      families: this.opts.families ?? [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
    });
    this.send(o);
    this.send({ type: 'keepalive' });
    this.keepalive = setInterval(() => {
      if (!this.silent) this.send({ type: 'keepalive' });
    }, 1000);
  }

  /** Resolves when `pred` holds (checked on every message and on close). */
  async until(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`fake router: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  updates(): Extract<Message, { type: 'update' }>[] {
    return this.messages.filter((m): m is Extract<Message, { type: 'update' }> => m.type === 'update');
  }

  close(): void {
    clearInterval(this.keepalive);
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onData(d: Buffer): void {
    this.chunks++;
    this.pending = Buffer.concat([this.pending, d]);
    const s = splitFrames(this.pending);
    this.pending = Buffer.from(s.rest);
    for (const f of s.frames) {
      const r = decodeBody(f.type, f.body, this.ctx);
      if (r.kind !== 'message') {
        this.errors.push(`${r.kind}: ${'reason' in r ? r.reason : ''}`);
        continue;
      }
      const m = r.message;
      this.messages.push(m);
      if (m.type === 'open') {
        this.ctx = { fourOctetAs: true, external: openAs(m) !== this.opts.as };
        if (this.opts.autoOpen ?? true) this.open();
      } else if (m.type === 'notification') {
        this.notifications.push(m);
      } else if (m.type === 'update') {
        this.apply(m);
      }
    }
    if (s.error) this.errors.push(`framing: ${s.error.reason}`);
    this.wake();
  }

  private apply(u: Extract<Message, { type: 'update' }>): void {
    const eor = isEndOfRib(u);
    if (eor) {
      this.eor.add(`${eor.afi}/${eor.safi}`);
      return;
    }
    for (const p of u.withdrawn) this.rib.delete(p);
    const nh = u.attributes.find((a) => a.type === 'next-hop');
    for (const p of u.nlri) {
      this.rib.set(p, {
        attributes: u.attributes,
        nextHop: nh?.type === 'next-hop' ? nh.address : undefined,
      });
    }
    for (const a of u.attributes) {
      if (a.type === 'mp-unreach') for (const p of a.withdrawn) this.rib.delete(p);
      if (a.type === 'mp-reach') {
        for (const p of a.nlri) this.rib.set(p, { attributes: u.attributes, nextHop: a.nextHops[0] });
      }
    }
  }
}

export class FakeRouter {
  readonly conns: FakeConn[] = [];
  private waiters: Array<() => void> = [];

  readonly server: net.Server;
  readonly port: number;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(opts: FakeRouterOptions, port = 0): Promise<FakeRouter> {
    let router: FakeRouter | undefined;
    const server = net.createServer((socket) => {
      const c = new FakeConn(socket, opts);
      router!.conns.push(c);
      const w = router!.waiters;
      router!.waiters = [];
      for (const f of w) f();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    router = new FakeRouter(server, (server.address() as net.AddressInfo).port);
    return router;
  }

  /** The n-th connection (0-based), waiting for it. */
  async conn(n = 0, timeoutMs = 5000): Promise<FakeConn> {
    const end = Date.now() + timeoutMs;
    while (!this.conns[n]) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`fake router: no connection #${n} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.conns[n]!;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
