import { type ChildProcess, execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTcp } from '../../../speaker/native/index.ts';
import { skipUnless } from '../../support/require.ts';
import { Segment } from '../support/netns.ts';

// dialTcp: the addon's socket-before-connect path (TCP MD5, TTL, bind), on loopback only.
describe('dialTcp', () => {
  let server: net.Server;
  let port = 0;
  const accepted: net.Socket[] = [];
  beforeAll(async () => {
    server = net.createServer((s) => {
      accepted.push(s);
      s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const dial = (o: Parameters<typeof dialTcp>[0]) =>
    new Promise<{ err?: Error & { code?: string }; socket?: net.Socket }>((resolve) =>
      dialTcp(o, (err, socket) => resolve({ ...(err ? { err } : {}), ...(socket ? { socket } : {}) })),
    );

  it('connects, bound to the source address, with a TTL, and hands over a working net.Socket', async () => {
    const { err, socket } = await dial({ address: '127.0.0.1', port, sourceAddress: '127.0.0.9', ttl: 1 });
    expect(err).toBeUndefined();
    expect(socket!.localAddress).toBe('127.0.0.9');
    expect(socket!.remotePort).toBe(port);
    const reply = new Promise<string>((r) => socket!.once('data', (d) => r(String(d))));
    socket!.write('hello');
    expect(await reply).toBe('echo:hello');
    socket!.destroy();
  });

  it('reports a refused connection with its code, asynchronously', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { err, socket } = await dial({ address: '127.0.0.1', port: closedPort });
    expect(socket).toBeUndefined();
    expect(err?.code).toBe('ECONNREFUSED');
  });

  it('reports a source address that is not local (bind) without sending anything', async () => {
    const { err } = await dial({ address: '127.0.0.1', port, sourceAddress: '::1' });
    expect(err?.message).toMatch(/source/);
    const r = await dial({ address: '::1', port, sourceAddress: '2001:db8::99' });
    expect(r.err?.code).toBe('EADDRNOTAVAIL');
  });

  it('refuses an MD5 key longer than 80 octets', async () => {
    const { err } = await dial({ address: '127.0.0.1', port, md5Password: 'k'.repeat(81) });
    expect(err?.message).toMatch(/1\.\.80/);
  });

  it('cancel(): the callback never runs and the socket is closed', async () => {
    let called = false;
    const before = accepted.length;
    // The MD5 option makes the keyless listener drop the SYN, so the connect is still pending.
    const d = dialTcp({ address: '127.0.0.1', port, md5Password: 'secret' }, () => {
      called = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    d.cancel();
    d.cancel();
    await new Promise((r) => setTimeout(r, 200));
    expect(called).toBe(false);
    expect(accepted.length).toBe(before);
  });
});

// TTL on the wire: A ── router R ── B. A SYN with TTL 1 dies at R; with 2 it reaches B.
describe.skipIf(skipUnless({ root: true, binaries: ['ip'] }))('dialTcp TTL through a router', () => {
  const seg = new Segment('ttl');
  const b = `pt-ttl-${seg.id}-b`;
  let a = '';
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    seg.create();
    a = seg.addHost('a', '02:00:00:00:7a:01', ['192.0.2.2/24', '2001:db8:1::2/64']);
    const r = seg.addHost('r', '02:00:00:00:7a:02', ['192.0.2.1/24', '2001:db8:1::1/64']);
    seg.exec(r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    seg.exec(r, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    Segment.run(['ip', 'netns', 'add', b]);
    Segment.run([
      'ip',
      'link',
      'add',
      'eth1',
      'netns',
      r,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      b,
    ]);
    seg.exec(r, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1']);
    seg.exec(r, ['ip', 'addr', 'add', '2001:db8:2::1/64', 'dev', 'eth1', 'nodad']);
    seg.exec(r, ['ip', 'link', 'set', 'eth1', 'up']);
    seg.exec(b, ['ip', 'link', 'set', 'lo', 'up']);
    seg.exec(b, ['ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'eth0']);
    seg.exec(b, ['ip', 'addr', 'add', '2001:db8:2::2/64', 'dev', 'eth0', 'nodad']);
    seg.exec(b, ['ip', 'link', 'set', 'eth0', 'up']);
    seg.exec(b, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
    seg.exec(b, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);
    seg.exec(a, ['ip', 'route', 'add', 'default', 'via', '192.0.2.1']);
    seg.exec(a, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
    server = seg.spawnRaw(b, [
      process.execPath,
      '-e',
      "require('net').createServer((s) => s.end()).listen(1179, '::')",
    ]);
    await new Promise((res) => setTimeout(res, 500));
  });
  afterAll(() => {
    server?.kill('SIGKILL');
    seg.destroy();
    try {
      Segment.run(['ip', 'netns', 'del', b]);
    } catch {
      // gone
    }
  });

  const probe = (address: string) =>
    JSON.parse(
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          a,
          process.execPath,
          join(import.meta.dirname, '../fixtures/ttl-probe.ts'),
          address,
          '1179',
          '1',
          '2',
          '255',
        ],
        { encoding: 'utf8', timeout: 20_000 },
      ).trim(),
    ) as Record<string, string>;

  it('IPv4: TTL 1 does not cross the router, 2 and 255 do', () => {
    const r = probe('198.51.100.2');
    expect(r['1']).not.toBe('connected');
    expect(r['2']).toBe('connected');
    expect(r['255']).toBe('connected');
  });

  it('IPv6: hop limit 1 does not cross the router, 2 and 255 do', () => {
    const r = probe('2001:db8:2::2');
    expect(r['1']).not.toBe('connected');
    expect(r['2']).toBe('connected');
    expect(r['255']).toBe('connected');
  });
});
