import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArp } from '../../../speaker/layer2/arp.ts';
import { parseIcmpv6Frame, parseNeighborAdvertisement } from '../../../speaker/layer2/ndp.ts';
import { skipUnless } from '../../support/require.ts';
import { JsonLines, Segment } from '../support/netns.ts';

// Real wires: a bridge, a "node" namespace running the speaker's L2 data plane (AF_PACKET addon
// for ARP, ICMPv6 socket for NDP) and a "client" namespace asking with arping / ndisc6.
const FIXTURES = join(import.meta.dirname, '../fixtures');
const NODE_MAC = '02:00:00:00:01:01';
const OTHER_MAC = '02:00:00:00:02:01';
const CLIENT_MAC = '02:00:00:00:0c:01';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ArpingResult {
  macs: string[];
  rttMs: number[];
  extra: number;
  code: number;
}

describe.skipIf(skipUnless({ root: true, binaries: ['ip', 'arping', 'ndisc6', 'tcpdump'] }))(
  'L2 answers on a real wire',
  () => {
    const seg = new Segment('l2');
    let node: string;
    let other: string;
    let client: string;
    const procs: ChildProcess[] = [];

    async function startResponder(
      ns: string,
      vips: string[],
      env: Record<string, string> = {},
    ): Promise<JsonLines> {
      const child = seg.spawnNodeEnv(ns, join(FIXTURES, 'l2-responder.ts'), ['eth0', vips.join(',')], env);
      procs.push(child);
      const lines = new JsonLines(child);
      const ready = await lines.waitFor((l) => l.event === 'ready', 10_000);
      expect(ready.failures).toEqual([]);
      return lines;
    }

    async function arping(target: string, count: number): Promise<ArpingResult> {
      const r = await seg.execAsync(client, [
        'arping',
        '-c',
        String(count),
        '-w',
        String(count + 1),
        '-I',
        'eth0',
        target,
      ]);
      const replies = [
        ...r.stdout.matchAll(/from ([0-9a-f:]{17}) \(([\d.]+)\): index=\d+ time=([\d.]+) (usec|msec)/g),
      ];
      const extra = Number(/\((\d+) extra\)/.exec(r.stdout)?.[1] ?? 'NaN');
      return {
        macs: replies.map((m) => m[1]!),
        rttMs: replies.map((m) => Number(m[3]) / (m[4] === 'usec' ? 1000 : 1)),
        extra,
        code: r.code,
      };
    }

    beforeAll(async () => {
      seg.create();
      node = seg.addHost('n1', NODE_MAC, ['192.0.2.2/24', '2001:db8::2/64']);
      other = seg.addHost('n2', OTHER_MAC, ['192.0.2.3/24', '2001:db8::3/64']);
      client = seg.addHost('cl', CLIENT_MAC, ['192.0.2.100/24', '2001:db8::100/64']);
    });
    afterAll(() => {
      for (const p of procs) p.kill('SIGKILL');
      seg.destroy();
    });

    describe('ARP', () => {
      let responder: JsonLines;
      beforeAll(async () => {
        responder = await startResponder(node, ['192.0.2.10', '2001:db8::10']);
        // A second speaker on the segment that owns nothing the client asks for.
        await startResponder(other, ['192.0.2.50']);
      });

      it('answers an owned VIP with the interface MAC, exactly once per request', async () => {
        const r = await arping('192.0.2.10', 5);
        expect(r.code).toBe(0);
        expect(r.macs).toEqual(Array(5).fill(NODE_MAC));
        expect(r.extra).toBe(0);
        const sorted = [...r.rttMs].sort((a, b) => a - b);
        console.log(`arping 192.0.2.10: rtt ms ${sorted.map((x) => x.toFixed(3)).join(' ')}`);
      });

      it('stays silent for addresses it does not own', async () => {
        const r = await arping('192.0.2.11', 2);
        expect(r.macs).toEqual([]);
        expect(r.code).not.toBe(0);
        const stats = await responder.waitFor((l) => l.event === 'stats' && (l.arpRequests as number) >= 7);
        expect(stats.arpReplies).toBe(5);
      });

      it('leaves node addresses to the kernel: one answer, from the kernel', async () => {
        const r = await arping('192.0.2.2', 3);
        expect(r.macs).toEqual(Array(3).fill(NODE_MAC));
        expect(r.extra).toBe(0);
      });
    });

    it('never answers for a node address even if told to own it', async () => {
      // 192.0.2.61 is handed to the responder as a VIP but also declared one of the node's
      // addresses (a pool overlapping node IPs): the responder must refuse, so nobody answers.
      await startResponder(other, ['192.0.2.61'], { NODE_ADDRESSES: '192.0.2.61' });
      const r = await arping('192.0.2.61', 2);
      expect(r.macs).toEqual([]);
    });

    it('takeover: a request-style gratuitous ARP burst moves the client neighbour entry', async () => {
      const vip = '192.0.2.20';
      // The client believes the VIP is elsewhere, and the entry is fresh (REACHABLE), so it will
      // not ask again by itself: only our GARP can change it.
      seg.exec(client, [
        'ip',
        'neigh',
        'replace',
        vip,
        'lladdr',
        '02:00:00:00:99:99',
        'dev',
        'eth0',
        'nud',
        'reachable',
      ]);
      const capture = seg.spawnRaw(client, [
        'tcpdump',
        '-l',
        '-n',
        '-e',
        '-c',
        '1',
        '-i',
        'eth0',
        'arp',
        'and',
        'host',
        vip,
      ]);
      procs.push(capture);
      let captured = '';
      capture.stdout!.on('data', (d: Buffer) => {
        captured += d.toString();
      });
      await sleep(500); // tcpdump attaches
      const ready = await startResponder(other, [vip]);
      const started = (await ready.waitFor((l) => l.event === 'ready')).t as number;
      let lladdr = '';
      let seenAt = 0;
      for (let i = 0; i < 100 && lladdr !== OTHER_MAC; i++) {
        const neigh = JSON.parse(
          seg.exec(client, ['ip', '-j', 'neigh', 'show', vip, 'dev', 'eth0']),
        ) as Array<{
          lladdr?: string;
        }>;
        lladdr = neigh[0]?.lladdr ?? '';
        seenAt = Date.now();
        if (lladdr !== OTHER_MAC) await sleep(20);
      }
      expect(lladdr).toBe(OTHER_MAC);
      console.log(
        `GARP: client neighbour entry moved ≤ ${seenAt - started} ms after the takeover (poll step 20 ms)`,
      );
      for (let i = 0; i < 50 && !captured.includes('\n'); i++) await sleep(20);
      // "Request who-has 192.0.2.20 tell 192.0.2.20": sender IP = target IP, a request, broadcast.
      expect(captured).toMatch(
        new RegExp(
          `${OTHER_MAC} > ff:ff:ff:ff:ff:ff.*Request who-has ${vip.replaceAll('.', '\\.')} tell ${vip.replaceAll('.', '\\.')}`,
        ),
      );
    });

    describe('NDP', () => {
      let capture: JsonLines;
      beforeAll(async () => {
        const child = seg.spawnNode(client, join(FIXTURES, 'capture.ts'), ['eth0', '0x86dd']);
        procs.push(child);
        capture = new JsonLines(child);
        await capture.waitFor((l) => l.event === 'ready');
      });

      it('ndisc6 resolves an owned v6 VIP to the interface MAC', async () => {
        const r = await seg.execAsync(client, ['ndisc6', '-r', '3', '-w', '500', '2001:db8::10', 'eth0']);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`Target link-layer address: ${NODE_MAC.toUpperCase()}`);
        expect(r.stdout).toContain('from 2001:db8::10');
      });

      it('sends a valid NA: kernel-computed checksum, hop limit 255, S and O flags', async () => {
        await sleep(200);
        const frames = capture.lines
          .filter((l) => l.event === 'frame')
          .map((l) => parseIcmpv6Frame(Buffer.from(l.hex as string, 'hex')))
          .filter((f) => f !== undefined && f.ethSrc === NODE_MAC && f.icmp[0] === 136);
        const solicited = frames.find((f) => f!.dst !== 'ff02::1');
        expect(solicited).toBeDefined();
        expect(solicited!.checksumOk).toBe(true);
        expect(solicited!.hopLimit).toBe(255);
        expect(solicited!.src).toBe('2001:db8::10');
        const na = parseNeighborAdvertisement(solicited!.icmp);
        expect(na).toMatchObject({
          target: '2001:db8::10',
          solicited: true,
          override: true,
          router: false,
          targetMac: NODE_MAC,
        });
      });

      it('stays silent for a v6 address it does not own', async () => {
        const r = await seg.execAsync(client, [
          'ndisc6',
          '-1',
          '-r',
          '2',
          '-w',
          '300',
          '2001:db8::11',
          'eth0',
        ]);
        expect(r.code).not.toBe(0);
        expect(r.stdout).not.toContain('Target link-layer address');
      });

      it('takeover: unsolicited NA with Override moves the client v6 neighbour entry', async () => {
        const vip = '2001:db8::20';
        seg.exec(client, [
          'ip',
          '-6',
          'neigh',
          'replace',
          vip,
          'lladdr',
          '02:00:00:00:99:98',
          'dev',
          'eth0',
          'nud',
          'reachable',
        ]);
        await startResponder(other, [vip]);
        let lladdr = '';
        for (let i = 0; i < 100 && lladdr !== OTHER_MAC; i++) {
          const neigh = JSON.parse(
            seg.exec(client, ['ip', '-j', '-6', 'neigh', 'show', vip, 'dev', 'eth0']),
          ) as Array<{
            lladdr?: string;
          }>;
          lladdr = neigh[0]?.lladdr ?? '';
          if (lladdr !== OTHER_MAC) await sleep(20);
        }
        expect(lladdr).toBe(OTHER_MAC);
        const isUnsolicitedNa = (l: Record<string, unknown>): boolean => {
          if (l.event !== 'frame') return false;
          const f = parseIcmpv6Frame(Buffer.from(l.hex as string, 'hex'));
          return f?.ethSrc === OTHER_MAC && f.dst === 'ff02::1' && f.icmp[0] === 136;
        };
        const line = await capture.waitFor(isUnsolicitedNa, 3000);
        const unsolicited = parseIcmpv6Frame(Buffer.from(line.hex as string, 'hex'));
        expect(unsolicited!.hopLimit).toBe(255);
        expect(unsolicited!.checksumOk).toBe(true);
        expect(parseNeighborAdvertisement(unsolicited!.icmp)).toMatchObject({
          target: vip,
          solicited: false,
          override: true,
        });
      });
    });

    it('parses what arping sends (codec against a real client)', async () => {
      const child = seg.spawnNode(node, join(FIXTURES, 'capture.ts'), ['eth0', '0x0806']);
      procs.push(child);
      const cap = new JsonLines(child);
      await cap.waitFor((l) => l.event === 'ready');
      await arping('192.0.2.99', 1);
      const frame = await cap.waitFor(
        (l) =>
          l.event === 'frame' && parseArp(Buffer.from(l.hex as string, 'hex'))?.targetIP === '192.0.2.99',
      );
      expect(parseArp(Buffer.from(frame.hex as string, 'hex'))).toMatchObject({
        op: 1,
        senderMac: CLIENT_MAC,
        senderIP: '192.0.2.100',
        targetIP: '192.0.2.99',
      });
      child.kill('SIGTERM');
    });
  },
);
