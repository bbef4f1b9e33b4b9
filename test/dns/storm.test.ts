// A bounded storm of malformed packets — random bytes and mutated real queries, over UDP and TCP —
// against the real binary in a child process. Afterwards the process must be alive and answering,
// and every response it sent during the storm must parse.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeUdp } from '../../dns/server/native-udp.ts';
import { skipUnless, strictPrereqs } from '../support/require.ts';
import { query } from './helpers.ts';

const run = promisify(execFile);
const MAX_PACKETS = 20_000;
const MAX_MS = 8_000;

describe.each(['node', 'native'] as const)('udpIo=%s', (udpIo) => {
  const noAddon = udpIo === 'native' && nativeUdp() === null && !strictPrereqs();
  describe.skipIf(skipUnless({ binaries: ['dig'] }) || noAddon)('malformed-packet storm', () => {
    let dir: string;
    let child: ChildProcess;
    let port: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'portico-storm-'));
      const file = join(dir, 'zone.yaml');
      writeFileSync(
        file,
        "zone: k8s.home.arpa\nrecords:\n  - { name: app, type: A, values: [192.0.2.10] }\n  - { name: '*.apps', type: A, values: [192.0.2.20] }\n",
      );
      child = spawn(
        process.execPath,
        [join(import.meta.dirname, '../../dns/main.ts'), '--config', file, '--port', '0', '--udp-io', udpIo],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"port":(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`dns exited with ${code}`)));
      });
    });

    afterAll(() => {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    it('survives random and mutated packets and keeps answering', async () => {
      const seeds = [
        query('app.k8s.home.arpa', 'A', { edns: true }),
        query('x.apps.k8s.home.arpa', 'AAAA'),
        query('k8s.home.arpa', 'ANY', { edns: true, udpSize: 512 }),
        query('example.com', 'A'),
      ];
      const random = fc.sample(fc.uint8Array({ maxLength: 512 }), { numRuns: MAX_PACKETS / 2, seed: 7 });
      const mutated = fc
        .sample(
          fc.record({
            s: fc.nat(seeds.length - 1),
            edits: fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { minLength: 1, maxLength: 4 }),
            cut: fc.nat(90),
          }),
          { numRuns: MAX_PACKETS / 2, seed: 11 },
        )
        .map(({ s, edits, cut }) => {
          const m = Buffer.from(seeds[s]!);
          for (const [p, v] of edits) if (p < m.length) m[p] = v;
          return cut < 12 ? m : m.subarray(0, Math.min(m.length, cut));
        });
      const packets = [...random.map((b) => Buffer.from(b)), ...mutated];

      const sock = createSocket('udp4');
      let replies = 0;
      let unparsable = 0;
      sock.on('message', (m) => {
        replies++;
        try {
          dnsPacket.decode(m);
        } catch {
          unparsable++;
        }
      });
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const t0 = Date.now();
      let sent = 0;
      for (const p of packets) {
        if (Date.now() - t0 > MAX_MS) break;
        sock.send(p, port, '127.0.0.1');
        if (++sent % 200 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      // TCP: garbage frames, a frame claiming more bytes than sent, then abrupt closes.
      await Promise.all(
        packets.slice(0, 40).map(
          (p, i) =>
            new Promise<void>((resolve) => {
              const c = connect(port, '127.0.0.1', () => {
                const len = Buffer.alloc(2);
                len.writeUInt16BE(i % 3 === 0 ? 65535 : p.length);
                c.write(Buffer.concat([len, p, p]));
                setTimeout(() => c.destroy(), 50);
              });
              c.on('error', () => {});
              c.on('close', () => resolve());
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      sock.close();

      expect(sent).toBeGreaterThan(1000);
      expect(replies).toBeGreaterThan(0);
      expect(unparsable).toBe(0);
      expect(child.exitCode).toBeNull();
      const { stdout } = await run('dig', [
        '@127.0.0.1',
        '-p',
        String(port),
        '+tries=1',
        '+time=2',
        'app.k8s.home.arpa',
        '+short',
      ]);
      expect(stdout.trim()).toBe('192.0.2.10');
      const tcp = await run('dig', [
        '@127.0.0.1',
        '-p',
        String(port),
        '+tcp',
        '+tries=1',
        '+time=2',
        'q.apps.k8s.home.arpa',
        '+short',
      ]);
      expect(tcp.stdout.trim()).toBe('192.0.2.20');
    });
  });
});
