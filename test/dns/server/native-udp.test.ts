// The native UDP path (dns/native/udp.c + dns/server/native-udp.ts) over real sockets: the addon's
// receive thread replays cached answers without JavaScript (ADR 048/049). Every replayed response
// must be exactly what the pure answer() gives for that query, counted as if JavaScript had answered
// it, and gone the moment the zone changes. A missing addon skips locally and fails under CI=true.

import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nativeUdp, udpFallbackWarning } from '../../../dns/server/native-udp.ts';
import { type DnsServer, startDnsServer } from '../../../dns/server/server.ts';
import type { AnswerInfo } from '../../../dns/zone/answer.ts';
import { answer } from '../../../dns/zone/answer.ts';
import { buildSnapshotSet } from '../../../dns/zone/snapshot.ts';
import type { ZoneInput } from '../../../dns/zone/spec.ts';
import { skipUnless, strictPrereqs } from '../../support/require.ts';
import { type AskOptions, decode, query } from '../helpers.ts';

const run = promisify(execFile);
const ZONE = 'k8s.home.arpa';
const hugeTxt = Array.from({ length: 14 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(118)}`);

function zoneWith(ip: string, serial: number, extra = 0): ZoneInput[] {
  return [
    {
      zone: ZONE,
      serial,
      ttl: 300,
      soa: { minimum: 30 },
      records: [
        { name: 'app', type: 'A', values: [ip] },
        { name: '*.apps', type: 'A', values: ['192.0.2.20'] },
        { name: 'huge', type: 'TXT', values: hugeTxt },
        ...Array.from({ length: extra }, (_, i) => ({
          name: `host-${i}`,
          type: 'A' as const,
          values: [`198.51.${100 + (i >> 8)}.${i & 255}`],
        })),
      ],
    },
  ];
}

const builtSets = new WeakMap<ZoneInput[], ReturnType<typeof buildSnapshotSet>['set']>();

/** What JavaScript answers for these bytes (the only place answers are made). */
function expected(zones: ZoneInput[], q: Buffer): Buffer | null {
  const info: AnswerInfo = { qtype: 0, rcode: 0, truncated: false };
  let set = builtSets.get(zones);
  if (!set) {
    set = buildSnapshotSet(zones).set;
    builtSets.set(zones, set);
  }
  const out = answer(q, set, { tcp: false, maxUdpPayload: 1232 }, info);
  return out === null ? null : Buffer.from(out);
}

/** A UDP client that matches responses to queries by ID, many in flight. */
class Client {
  private readonly waiting = new Map<number, (m: Buffer) => void>();
  readonly sock: Socket;
  private readonly port: number;
  private constructor(sock: Socket, port: number) {
    this.sock = sock;
    this.port = port;
    sock.on('message', (m) => {
      const id = m.readUInt16BE(0);
      const w = this.waiting.get(id);
      if (w) {
        this.waiting.delete(id);
        w(m);
      }
    });
  }
  static async open(port: number): Promise<Client> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new Client(sock, port);
  }
  ask(q: Buffer, timeoutMs = 3000): Promise<Buffer> {
    const id = q.readUInt16BE(0);
    return new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer to id ${id} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      this.sock.send(q, this.port, '127.0.0.1');
    });
  }
  /** Sends and expects silence (dropped input). */
  async silent(q: Buffer, ms = 300): Promise<boolean> {
    let got = false;
    const on = () => {
      got = true;
    };
    this.sock.on('message', on);
    this.sock.send(q, this.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, ms));
    this.sock.off('message', on);
    return !got;
  }
  close(): void {
    this.sock.close();
  }
}

async function metric(srv: DnsServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  await srv.collect();
  const text = await srv.metrics.registry.metrics();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([\\d.e+]+)$`, 'gm'))) {
    const l = m[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

const skipNative = nativeUdp() === null && !strictPrereqs();
if (skipNative)
  console.warn('skipping the native UDP tests: dns/native is not built (node dns/native/build.ts)');

describe.skipIf(skipNative)('native UDP path: replay from the receive thread', () => {
  let srv: DnsServer;
  let c: Client;
  let zones: ZoneInput[];
  let nextId = 1;
  const q = (name: string, type: string | number, o: AskOptions = {}) =>
    query(name, type, { id: nextId++, ...o });

  beforeAll(async () => {
    expect(nativeUdp(), 'the dns/native addon must be built').not.toBeNull();
    srv = await startDnsServer({ udpIo: 'native', port: 0 });
    expect(srv.udpIo).toBe('native');
    zones = zoneWith('192.0.2.10', 1, 3000);
    srv.update({ set: buildSnapshotSet(zones).set, inputs: zones });
    c = await Client.open(srv.port);
  });

  afterAll(async () => {
    c?.close();
    await srv?.close();
  });

  afterEach(() => {
    // Keep IDs unique per test file run (16 bits).
    if (nextId > 50_000) nextId = 1;
  });

  it('positive, NXDOMAIN, NODATA, wildcard, with and without EDNS (DO, CD, RD off): replays are byte-for-byte what answer() gives, with the asker ID', async () => {
    const cases: Array<[string, string, AskOptions]> = [
      ['app.k8s.home.arpa', 'A', {}],
      ['app.k8s.home.arpa', 'A', { edns: true }],
      ['app.k8s.home.arpa', 'A', { edns: true, udpSize: 512, dnssecOk: true }],
      ['app.k8s.home.arpa', 'A', { rd: false, cd: true }],
      ['app.k8s.home.arpa', 'AAAA', { edns: true }], // NODATA + SOA
      ['nope.k8s.home.arpa', 'A', {}], // NXDOMAIN + SOA
      ['nope.k8s.home.arpa', 'A', { edns: true }],
      ['x.y.apps.k8s.home.arpa', 'A', { edns: true }], // wildcard
      ['ApP.K8s.HOME.arpa', 'A', {}], // 0x20: its own entry, its own case
      ['example.com', 'A', {}], // REFUSED
    ];
    const before = await metric(srv, 'portico_dns_udp_replayed_total');
    for (const [name, type, o] of cases) {
      const first = await c.ask(q(name, type, o));
      const again = q(name, type, o);
      const replayed = await c.ask(again);
      expect(replayed, `${name} ${type} ${JSON.stringify(o)}`).toEqual(expected(zones, again));
      expect(replayed.subarray(2)).toEqual(first.subarray(2));
      expect(replayed.readUInt16BE(0)).toBe(again.readUInt16BE(0));
    }
    expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(before + cases.length);
    const nx = decode(await c.ask(q('nope.k8s.home.arpa', 'A', { edns: true })));
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities.map((a) => a.type)).toEqual(['SOA']);
  });

  it('replayed answers are counted per qtype and rcode exactly like answers built in JavaScript', async () => {
    const labels = (qtype: string, rcode: string) => ({ transport: 'udp', qtype, rcode });
    const a0 = await metric(srv, 'portico_dns_queries_total', labels('A', 'NOERROR'));
    const nx0 = await metric(srv, 'portico_dns_queries_total', labels('A', 'NXDOMAIN'));
    const aaaa0 = await metric(srv, 'portico_dns_queries_total', labels('AAAA', 'NOERROR'));
    const r0 = await metric(srv, 'portico_dns_udp_replayed_total');
    for (let i = 0; i < 5; i++) {
      await c.ask(q('host-1.k8s.home.arpa', 'A'));
      await c.ask(q('gone-1.k8s.home.arpa', 'A'));
      await c.ask(q('host-1.k8s.home.arpa', 'AAAA'));
    }
    expect(await metric(srv, 'portico_dns_queries_total', labels('A', 'NOERROR'))).toBe(a0 + 5);
    expect(await metric(srv, 'portico_dns_queries_total', labels('A', 'NXDOMAIN'))).toBe(nx0 + 5);
    expect(await metric(srv, 'portico_dns_queries_total', labels('AAAA', 'NOERROR'))).toBe(aaaa0 + 5);
    expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(r0 + 12); // all but the first of each
  });

  it('thousands of distinct questions (positive and negative) are all replayed the second time round', async () => {
    // ~3,000 distinct keys, like the bench: a direct-mapped table of 4,096 slots replayed ~83%.
    const asks: Array<[string, string]> = [];
    for (let i = 0; i < 1000; i++) {
      asks.push([`host-${i}.k8s.home.arpa`, 'A'], [`host-${i}.k8s.home.arpa`, 'AAAA']);
      asks.push([`missing-${i}.k8s.home.arpa`, 'A']);
    }
    const pass = async () => {
      for (let i = 0; i < asks.length; i += 100) {
        const batch = asks.slice(i, i + 100).map(([n, t]) => q(n, t, { edns: true }));
        const got = await Promise.all(batch.map((b) => c.ask(b)));
        for (let j = 0; j < got.length; j++) expect(got[j]).toEqual(expected(zones, batch[j]!));
      }
    };
    await pass();
    const r0 = await metric(srv, 'portico_dns_udp_replayed_total');
    await pass();
    expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(r0 + asks.length);
  });

  it('a zone change is seen by the very next query, also while another client keeps the receive thread busy', async () => {
    const other = await Client.open(srv.port);
    let stop = false;
    let n = 0;
    const busy = (async () => {
      while (!stop) {
        const bq = query('app.k8s.home.arpa', 'A', { id: 60_000 + (n++ % 5000) });
        await other.ask(bq).catch(() => undefined);
      }
    })();
    try {
      for (let round = 0; round < 5; round++) {
        const ip = `192.0.2.${50 + round}`;
        // Warm: the current answer is cached (and replayed) before the change.
        await c.ask(q('app.k8s.home.arpa', 'A'));
        await c.ask(q('app.k8s.home.arpa', 'A'));
        zones = zoneWith(ip, 10 + round, 3000);
        srv.update({ set: buildSnapshotSet(zones).set, inputs: zones });
        for (let i = 0; i < 20; i++) {
          const r = decode(await c.ask(q('app.k8s.home.arpa', 'A')));
          expect(r.answers.map((a) => a.data)).toEqual([ip]);
        }
      }
    } finally {
      stop = true;
      await busy;
      other.close();
    }
  });

  it('misses are still answered by JavaScript: per-query bytes (an EDNS cookie) never replay', async () => {
    const r0 = await metric(srv, 'portico_dns_udp_replayed_total');
    const n0 = await metric(srv, 'portico_dns_queries_total');
    for (let i = 0; i < 10; i++) {
      const base = q('app.k8s.home.arpa', 'A', { edns: true });
      // OPT RDLEN 12 + COOKIE option (code 10, length 8, a fresh client cookie each time).
      const cookie = Buffer.alloc(12);
      cookie.writeUInt16BE(10, 0);
      cookie.writeUInt16BE(8, 2);
      cookie.writeUInt32BE(i + 1, 4);
      const withCookie = Buffer.concat([base, cookie]);
      withCookie.writeUInt16BE(12, base.length - 2);
      const r = await c.ask(withCookie);
      expect(r).toEqual(expected(zones, withCookie));
    }
    expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(r0);
    expect(await metric(srv, 'portico_dns_queries_total')).toBe(n0 + 10);
  });

  it('malformed input still reaches JavaScript: FORMERR for a bad question, runts and oversized datagrams dropped and counted', async () => {
    const d0 = await metric(srv, 'portico_dns_dropped_total');
    // Header says one question, the name runs past the end.
    const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x05, 0x61, 0x62]);
    for (const id of [0x1111, 0x2222]) {
      bad.writeUInt16BE(id, 0);
      const r = await c.ask(Buffer.from(bad));
      expect(r.readUInt16BE(0)).toBe(id);
      expect(r[3]! & 0x0f).toBe(1); // FORMERR
      expect(r).toEqual(expected(zones, bad));
    }
    expect(await c.silent(Buffer.from([1, 2, 3, 4, 5]))).toBe(true); // runt
    const big = Buffer.concat([q('app.k8s.home.arpa', 'A'), Buffer.alloc(5000)]);
    expect(await c.silent(big)).toBe(true); // larger than a receive slot
    expect(await metric(srv, 'portico_dns_dropped_total')).toBe(d0 + 2);
    // And the server still answers.
    expect(decode(await c.ask(q('app.k8s.home.arpa', 'A'))).answers).toHaveLength(1);
  });

  it('truncated answers (TC) are never replayed', async () => {
    const r0 = await metric(srv, 'portico_dns_udp_replayed_total');
    const t0 = await metric(srv, 'portico_dns_truncated_total');
    for (let i = 0; i < 3; i++) {
      const tq = q('huge.k8s.home.arpa', 'TXT');
      const r = await c.ask(tq);
      expect(r[2]! & 0x02).toBe(0x02);
      expect(r).toEqual(expected(zones, tq));
    }
    expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(r0);
    expect(await metric(srv, 'portico_dns_truncated_total')).toBe(t0 + 3);
  });

  describe.skipIf(skipUnless({ binaries: ['dig', 'kdig'] }))('with real clients', () => {
    it('dig and kdig get replayed answers they accept (positive, NXDOMAIN with SOA, EDNS and not)', async () => {
      const r0 = await metric(srv, 'portico_dns_udp_replayed_total');
      const args = ['@127.0.0.1', '-p', String(srv.port)];
      for (let i = 0; i < 2; i++) {
        const a = (await run('dig', [...args, '+tries=1', '+time=2', '+nocookie', 'app.k8s.home.arpa', 'A']))
          .stdout;
        expect(a).toContain('status: NOERROR');
        expect(a).toMatch(/app\.k8s\.home\.arpa\.\s+300\s+IN\s+A\s+192\.0\.2\.\d+/);
        const nx = (await run('dig', [...args, '+tries=1', '+time=2', '+noedns', 'zzz.k8s.home.arpa', 'A']))
          .stdout;
        expect(nx).toContain('status: NXDOMAIN');
        expect(nx).toMatch(/k8s\.home\.arpa\.\s+30\s+IN\s+SOA/);
        const k = (await run('kdig', [...args, '+retry=0', '+time=2', '+edns', 'host-7.k8s.home.arpa', 'A']))
          .stdout;
        expect(k).toContain('status: NOERROR');
        expect(k).toMatch(/host-7\.k8s\.home\.arpa\.\s+300\s+IN\s+A\s+198\.51\.100\.7/);
      }
      // The second round of each (3 queries) came from the receive thread.
      expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBeGreaterThanOrEqual(r0 + 3);
    });
  });
});

/** Threads of this process named by the addon's receive thread. */
function rxThreads(): number {
  return readdirSync('/proc/self/task').filter((t) => {
    try {
      return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'portico-udp-rx';
    } catch {
      return false;
    }
  }).length;
}

describe.skipIf(skipNative)('native UDP path: lifecycle and rate limiting', () => {
  it('the default path serves from a receive thread, joined on close', async () => {
    const before = rxThreads();
    const srv = await startDnsServer({ udpIo: 'native', port: 0 });
    expect(rxThreads()).toBe(before + 1);
    await srv.close();
    expect(rxThreads()).toBe(before);
  });

  it('with response rate limiting on nothing is replayed (RRL decides per client) and no receive thread runs', async () => {
    const before = rxThreads();
    const srv = await startDnsServer({ udpIo: 'native', port: 0, rateLimit: { responsesPerSecond: 1000 } });
    expect(srv.udpIo).toBe('native');
    expect(rxThreads()).toBe(before);
    const c = await Client.open(srv.port);
    try {
      const z = zoneWith('192.0.2.10', 1);
      srv.update({ set: buildSnapshotSet(z).set, inputs: z });
      for (let i = 0; i < 20; i++) await c.ask(query('app.k8s.home.arpa', 'A', { id: i + 1 }));
      expect(await metric(srv, 'portico_dns_udp_replayed_total')).toBe(0);
      expect(await metric(srv, 'portico_dns_queries_total')).toBe(20);
    } finally {
      c.close();
      await srv.close();
    }
  });

  it('closes promptly under a flood (the receive thread is joined) and frees the port', async () => {
    const srv = await startDnsServer({ udpIo: 'native', port: 0 });
    const z = zoneWith('192.0.2.10', 1);
    srv.update({ set: buildSnapshotSet(z).set, inputs: z });
    const port = srv.port;
    const flood = createSocket('udp4');
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', () => r()));
    let flooding = true;
    const pump = () => {
      if (!flooding) return;
      for (let i = 0; i < 50; i++) flood.send(query('app.k8s.home.arpa', 'A', { id: i }), port, '127.0.0.1');
      setImmediate(pump);
    };
    pump();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await srv.close();
    expect(performance.now() - t0).toBeLessThan(500);
    flooding = false;
    flood.close();
    // The port is free again: a new server binds it.
    const again = await startDnsServer({ udpIo: 'native', port });
    expect(again.port).toBe(port);
    await again.close();
  });

  it('the default path warns when it falls back to node:dgram, and says nothing otherwise', () => {
    expect(udpFallbackWarning(undefined, 'native')).toBeUndefined();
    expect(udpFallbackWarning('node', 'node')).toBeUndefined();
    expect(udpFallbackWarning('auto', 'node')).toMatch(/node:dgram.*dns\/native\/build\.ts/);
  });
});
