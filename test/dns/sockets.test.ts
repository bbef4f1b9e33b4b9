// The server over real sockets on 127.0.0.1 with real clients: dig and kdig (UDP and TCP), Node's
// resolver, raw TCP for pipelining, plus reload, readiness, metrics, worker threads and RRL.

import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStandalone, type Standalone } from '../../dns/main.ts';
import { nativeUdp } from '../../dns/server/native-udp.ts';
import { startDnsServer } from '../../dns/server/server.ts';
import { buildSnapshotSet } from '../../dns/zone/snapshot.ts';
import { skipUnless, strictPrereqs } from '../support/require.ts';
import { decode, query } from './helpers.ts';

const run = promisify(execFile);
const hugeTxt = Array.from({ length: 14 }, (_, i) => `'${String(i).padStart(2, '0')}${'x'.repeat(118)}'`);

const zoneYaml = (ip: string) => `zone: k8s.home.arpa
ttl: 300
soa: { minimum: 30 }
records:
  - { name: app, type: A, values: [${ip}] }
  - { name: '*.apps', type: A, values: [192.0.2.20] }
  - { name: txt, type: TXT, values: ['hello'] }
  - { name: huge, type: TXT, values: [${hugeTxt.join(', ')}] }
---
zone: 2.0.192.in-addr.arpa
records: []
`;

async function dig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args]);
  return stdout;
}

async function kdig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('kdig', ['@127.0.0.1', '-p', String(port), '+retry=0', '+time=2', ...args]);
  return stdout;
}

// Both UDP paths run every test: node:dgram, and the batched native addon (dns/native). A missing
// addon skips its half locally and fails it under CI=true (the build step is part of CI).
type UdpIo = 'node' | 'native';
function skipIo(io: UdpIo): boolean {
  if (io === 'native' && nativeUdp() === null && !strictPrereqs()) {
    console.warn('skipping udpIo=native: dns/native is not built (node dns/native/build.ts)');
    return true;
  }
  return false;
}

describe.each<UdpIo>(['node', 'native'])('udpIo=%s', (udpIo) => {
  describe.skipIf(skipUnless({ binaries: ['dig', 'kdig'] }) || skipIo(udpIo))('DNS over real sockets', () => {
    let dir: string;
    let file: string;
    let s: Standalone;
    let port: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'portico-dns-'));
      file = join(dir, 'zone.yaml');
      writeFileSync(file, zoneYaml('192.0.2.10'));
      s = await runStandalone({
        config: file,
        port: 0,
        observe: '127.0.0.1:0',
        logLevel: 'silent',
        reloadDebounceMs: 50,
      });
      port = s.server.port;
    });

    afterAll(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('dig over UDP and TCP: authoritative answer, no recursion', async () => {
      for (const t of ['+notcp', '+tcp']) {
        const out = await dig(port, t, 'app.k8s.home.arpa', 'A');
        expect(out).toContain('status: NOERROR');
        expect(out).toMatch(/flags: qr aa rd;/);
        expect(out).toMatch(/app\.k8s\.home\.arpa\.\s+300\s+IN\s+A\s+192\.0\.2\.10/);
      }
    });

    it('kdig over UDP and TCP', async () => {
      for (const t of ['+notcp', '+tcp']) {
        const out = await kdig(port, t, 'x.y.apps.k8s.home.arpa', 'A');
        expect(out).toContain('status: NOERROR');
        expect(out).toMatch(/x\.y\.apps\.k8s\.home\.arpa\.\s+300\s+IN\s+A\s+192\.0\.2\.20/);
      }
    });

    it('0x20: the answer keeps the letter case of the question', async () => {
      const out = await dig(port, 'ApP.K8s.HOME.arpa', 'A', '+noall', '+answer');
      expect(out).toMatch(/^ApP\.K8s\.HOME\.arpa\.\s+300\s+IN\s+A\s+192\.0\.2\.10/m);
    });

    it('REFUSED outside the zones', async () => {
      expect(await dig(port, 'example.com', 'A')).toContain('status: REFUSED');
      expect(await kdig(port, 'example.com', 'A')).toContain('status: REFUSED');
    });

    it('NXDOMAIN and NODATA carry the SOA', async () => {
      const nx = await dig(port, 'nope.k8s.home.arpa', 'A');
      expect(nx).toContain('status: NXDOMAIN');
      expect(nx).toMatch(/k8s\.home\.arpa\.\s+30\s+IN\s+SOA/);
      const nodata = await dig(port, 'app.k8s.home.arpa', 'AAAA');
      expect(nodata).toContain('status: NOERROR');
      expect(nodata).toContain('ANSWER: 0');
      expect(nodata).toMatch(/IN\s+SOA/);
    });

    it('EDNS: our payload size is 1232; version 1 gets BADVERS', async () => {
      expect(await dig(port, '+bufsize=4096', 'app.k8s.home.arpa')).toContain('udp: 1232');
      expect(await dig(port, '+edns=1', '+noednsneg', 'app.k8s.home.arpa')).toContain('status: BADVERS');
    });

    it('TC over UDP, full answer over TCP (dig falls back by itself)', async () => {
      const tc = await kdig(port, '+notcp', '+bufsize=1232', 'huge.k8s.home.arpa', 'TXT');
      expect(tc).toMatch(/Flags: qr aa tc rd/);
      expect(tc).toContain('ANSWER: 0');
      const fallback = await dig(port, 'huge.k8s.home.arpa', 'TXT');
      expect(fallback).toContain('Truncated, retrying in TCP mode');
      expect(fallback).toContain('ANSWER: 14');
    });

    it("Node's resolver", async () => {
      const r = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
      r.setServers([`127.0.0.1:${port}`]);
      expect(await r.resolve4('app.k8s.home.arpa')).toEqual(['192.0.2.10']);
      expect(await r.resolveTxt('txt.k8s.home.arpa')).toEqual([['hello']]);
      expect(await r.reverse('192.0.2.10')).toEqual(['app.k8s.home.arpa']);
      await expect(r.resolve6('app.k8s.home.arpa')).rejects.toMatchObject({ code: 'ENODATA' });
      await expect(r.resolve4('nope.k8s.home.arpa')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    });

    it('TCP pipelining: three queries in one write, three answers in order on one connection', async () => {
      const frames = [1, 2, 3].map((id) => {
        const q = query(id === 2 ? 'nope.k8s.home.arpa' : 'app.k8s.home.arpa', 'A', { id });
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length, 0);
        q.copy(f, 2);
        return f;
      });
      const sock = connect(port, '127.0.0.1');
      const got: Array<{ id: number; rcode: string }> = [];
      let buf = Buffer.alloc(0);
      await new Promise<void>((resolve, reject) => {
        sock.on('error', reject);
        sock.on('connect', () => sock.write(Buffer.concat(frames)));
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            const len = buf.readUInt16BE(0);
            const p = decode(buf.subarray(2, 2 + len));
            got.push({ id: p.id, rcode: p.rcode });
            buf = buf.subarray(2 + len);
          }
          if (got.length === 3) resolve();
        });
      });
      sock.destroy();
      expect(got).toEqual([
        { id: 1, rcode: 'NOERROR' },
        { id: 2, rcode: 'NXDOMAIN' },
        { id: 3, rcode: 'NOERROR' },
      ]);
    });

    it('readyz and metrics', async () => {
      await dig(port, 'app.k8s.home.arpa');
      // A 5,000-byte datagram flagged as a response: never answered, counted as dropped (the
      // native path drops it for size before parsing, node:dgram for QR=1).
      const junk = Buffer.alloc(5000, 0);
      junk[2] = 0x80;
      const u = createSocket('udp4');
      await new Promise<void>((r) => u.send(junk, port, '127.0.0.1', () => r()));
      u.close();
      const base = `http://127.0.0.1:${s.observePort}`;
      await expect
        .poll(
          async () =>
            (await (await fetch(`${base}/metrics`)).text()).match(
              /portico_dns_dropped_total(\{[^}]*\})? (\d+)/,
            )?.[2],
          {
            timeout: 3000,
          },
        )
        .toBe('1');
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(
        /portico_dns_queries_total\{transport="udp",qtype="A",rcode="NOERROR"[^}]*\} [1-9]/,
      );
      expect(text).toMatch(/portico_dns_zone_records\{zone="k8s.home.arpa"[^}]*\} 19/);
      expect(text).toContain('portico_dns_query_duration_seconds_count');
    });

    it('reloads the file on change; a broken edit keeps the previous zone', async () => {
      const serial = async () => (await dig(port, 'k8s.home.arpa', 'SOA', '+short')).split(' ')[2];
      const before = Number(await serial());
      writeFileSync(file, zoneYaml('192.0.2.99'));
      await expect
        .poll(async () => (await dig(port, 'app.k8s.home.arpa', '+short')).trim(), { timeout: 5000 })
        .toBe('192.0.2.99');
      expect(Number(await serial())).toBeGreaterThan(before);
      writeFileSync(file, 'zone: k8s.home.arpa\nrecords: [{ name: app, type: A, values: [not-an-ip] }]\n');
      await new Promise((r) => setTimeout(r, 500));
      expect((await dig(port, 'app.k8s.home.arpa', '+short')).trim()).toBe('192.0.2.99');
    });
  });

  describe.skipIf(skipUnless({ binaries: ['dig'] }) || skipIo(udpIo))('server shell', () => {
    const specs = [
      {
        zone: 'k8s.home.arpa',
        serial: 1,
        records: [{ name: 'app', type: 'A' as const, values: ['192.0.2.10'] }],
      },
    ];
    const built = buildSnapshotSet(specs);

    it('before the first zone update: not ready, SERVFAIL; after: ready and answering', async () => {
      const srv = await startDnsServer({ udpIo, port: 0 });
      try {
        expect(srv.ready()).toBe(false);
        expect(await dig(srv.port, 'app.k8s.home.arpa')).toContain('status: SERVFAIL');
        srv.update({ set: built.set, inputs: specs });
        expect(srv.ready()).toBe(true);
        expect((await dig(srv.port, 'app.k8s.home.arpa', '+short')).trim()).toBe('192.0.2.10');
      } finally {
        await srv.close();
      }
    });

    it('two worker threads share the port (SO_REUSEPORT) and both count into the metrics', async () => {
      const srv = await startDnsServer({ udpIo, port: 0, workers: 2 });
      try {
        srv.update({ set: built.set, inputs: specs });
        for (let i = 0; i < 20; i++) {
          expect((await dig(srv.port, i % 2 ? '+tcp' : '+notcp', 'app.k8s.home.arpa', '+short')).trim()).toBe(
            '192.0.2.10',
          );
        }
        await srv.collect();
        const text = await srv.metrics.registry.metrics();
        const total = [...text.matchAll(/portico_dns_queries_total\{[^}]*\} (\d+)/g)].reduce(
          (a, m) => a + Number(m[1]),
          0,
        );
        expect(total).toBe(20);
      } finally {
        await srv.close();
      }
    });

    it('TCP: idle connections are closed; connections over the cap are refused', async () => {
      const srv = await startDnsServer({ udpIo, port: 0, tcpIdleTimeoutMs: 1500, tcpMaxConnections: 2 });
      try {
        srv.update({ set: built.set, inputs: specs });
        const open = () =>
          new Promise<{ closedAfterMs: Promise<number> }>((resolve) => {
            const t0 = Date.now();
            const c = connect(srv.port, '127.0.0.1', () =>
              resolve({ closedAfterMs: new Promise((r) => c.on('close', () => r(Date.now() - t0))) }),
            );
            c.on('error', () => {});
          });
        const a = await open();
        const b = await open();
        const c = await open();
        expect(await c.closedAfterMs).toBeLessThan(1000); // over the cap: dropped at once
        expect(await a.closedAfterMs).toBeGreaterThanOrEqual(1400); // idle timeout
        await b.closedAfterMs;
      } finally {
        await srv.close();
      }
    });

    it("answers replayed by the native path are the same bytes with the asker's ID, counted, and follow zone changes", async () => {
      const srv = await startDnsServer({ udpIo, port: 0 });
      const sock = createSocket('udp4');
      try {
        srv.update({ set: built.set, inputs: specs });
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        const ask = (q: Buffer) =>
          new Promise<Buffer>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('no answer in 2 s')), 2000);
            sock.once('message', (m) => {
              clearTimeout(t);
              resolve(m);
            });
            sock.send(q, srv.port, '127.0.0.1');
          });
        const metric = async (name: string) => {
          await srv.collect();
          const text = await srv.metrics.registry.metrics();
          return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
            (a, m) => a + Number(m[1]),
            0,
          );
        };
        const first = await ask(query('app.k8s.home.arpa', 'A', { id: 0x0101, edns: true }));
        const again = await ask(query('app.k8s.home.arpa', 'A', { id: 0x0202, edns: true }));
        expect(again.readUInt16BE(0)).toBe(0x0202);
        expect(again.subarray(2)).toEqual(first.subarray(2));
        expect(decode(again).answers?.map((a) => a.data)).toEqual(['192.0.2.10']);
        // Different bytes (letter case, no EDNS) are different entries, each answered for itself.
        const upper = decode(await ask(query('APP.k8s.home.arpa', 'A', { id: 3 })));
        expect(upper.questions?.[0]?.name).toBe('APP.k8s.home.arpa');
        expect(upper.additionals ?? []).toHaveLength(0);
        const upperAgain = decode(await ask(query('APP.k8s.home.arpa', 'A', { id: 4 })));
        expect(upperAgain.questions?.[0]?.name).toBe('APP.k8s.home.arpa');
        expect(upperAgain.id).toBe(4);
        expect(await metric('portico_dns_queries_total')).toBe(4);
        expect(await metric('portico_dns_udp_replayed_total')).toBe(udpIo === 'native' ? 2 : 0);
        // A new snapshot: the next identical query gets the new answer, not the replayed one.
        const changed = [
          { ...specs[0]!, serial: 2, records: [{ name: 'app', type: 'A' as const, values: ['192.0.2.11'] }] },
        ];
        srv.update({ set: buildSnapshotSet(changed).set, inputs: changed });
        const after = decode(await ask(query('app.k8s.home.arpa', 'A', { id: 0x0303, edns: true })));
        expect(after.answers?.map((a) => a.data)).toEqual(['192.0.2.11']);
        expect(after.id).toBe(0x0303);
      } finally {
        sock.close();
        await srv.close();
      }
    });

    it('response rate limiting per /24: a burst beyond the rate is dropped or slipped', async () => {
      const srv = await startDnsServer({ udpIo, port: 0, rateLimit: { responsesPerSecond: 10, slip: 2 } });
      try {
        srv.update({ set: built.set, inputs: specs });
        const sock = createSocket('udp4');
        const replies: Array<{ tc: boolean }> = [];
        sock.on('message', (m) => replies.push({ tc: (m[2]! & 0x02) !== 0 }));
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        const t0 = Date.now();
        for (let i = 0; i < 50; i++)
          sock.send(query('app.k8s.home.arpa', 'A', { id: i }), srv.port, '127.0.0.1');
        await expect.poll(() => replies.length, { timeout: 3000 }).toBeGreaterThanOrEqual(20);
        const elapsed = (Date.now() - t0) / 1000;
        await new Promise((r) => setTimeout(r, 200));
        sock.close();
        const full = replies.filter((r) => !r.tc).length;
        const slipped = replies.filter((r) => r.tc).length;
        // The bucket holds 10 and refills 10/s: a slow (loaded) machine earns a few more.
        expect(full).toBeGreaterThanOrEqual(10);
        expect(full).toBeLessThanOrEqual(10 + Math.ceil((elapsed + 0.2) * 10));
        expect(slipped).toBeGreaterThan(5);
        expect(full + slipped).toBeLessThan(50);
      } finally {
        await srv.close();
      }
    });
  });
});
