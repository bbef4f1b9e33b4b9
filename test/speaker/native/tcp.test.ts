import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialTcp } from '../../../speaker/native/index.ts';

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
