import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_COMMAND, loadPacketAddon } from '../../../speaker/native/index.ts';
import { skipUnless } from '../../support/require.ts';
import { Segment } from '../support/netns.ts';

describe('native addon loader', () => {
  it('names the build command when the addon is missing', () => {
    expect(() => loadPacketAddon(['/nonexistent/portico_packet.node'])).toThrow(BUILD_COMMAND);
    expect(() => loadPacketAddon(['/nonexistent/portico_packet.node'])).toThrow(/not built/);
  });

  it('names the build command when the addon fails to load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-addon-'));
    try {
      const bogus = join(dir, 'portico_packet.node');
      writeFileSync(bogus, 'this is not a shared object');
      expect(() => loadPacketAddon([bogus])).toThrow(/failed to load/);
      expect(() => loadPacketAddon([bogus])).toThrow(BUILD_COMMAND);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the built addon and exposes open/openIcmp6/openLinkMonitor', () => {
    const addon = loadPacketAddon();
    expect(typeof addon.open).toBe('function');
    expect(typeof addon.openIcmp6).toBe('function');
    expect(typeof addon.openLinkMonitor).toBe('function');
  });
});

describe.skipIf(skipUnless({ root: true, binaries: ['ip'] }))('AF_PACKET socket on a veth pair', () => {
  const seg = new Segment('pkt');
  let result: Record<string, unknown>;

  beforeAll(() => {
    seg.create();
    const ns = seg.switchNs;
    seg.exec(ns, [
      'ip',
      'link',
      'add',
      'va',
      'address',
      '02:00:00:00:aa:01',
      'type',
      'veth',
      'peer',
      'name',
      'vb',
    ]);
    seg.exec(ns, ['ip', 'link', 'set', 'vb', 'address', '02:00:00:00:bb:01']);
    seg.exec(ns, ['ip', 'link', 'set', 'va', 'up']);
    seg.exec(ns, ['ip', 'link', 'set', 'vb', 'up']);
    const out = execFileSync(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        join(import.meta.dirname, '../fixtures/packet-probe.ts'),
        'va',
        'vb',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    result = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  });
  afterAll(() => seg.destroy());

  it('reports interface index and MAC', () => {
    expect(result.a).toMatchObject({ ifname: 'va', mac: '02:00:00:00:aa:01' });
    expect(result.b).toMatchObject({ ifname: 'vb', mac: '02:00:00:00:bb:01' });
    expect((result.a as { ifindex: number }).ifindex).toBeGreaterThan(0);
  });

  it('delivers frames in order, whole, and stops delivering when closed inside the callback', () => {
    expect(result.deliveredToB).toEqual([0, 1, 2]);
    expect(result.closedInside).toBe(true);
    expect(result.frameLength).toBe(60);
  });

  it('does not loop our own frames back (PACKET_IGNORE_OUTGOING)', () => {
    expect(result.loopedBackToA).toBe(0);
  });

  it('netlink monitor: calls back on link and address changes, and stops when closed', () => {
    const afterLink = result.afterLinkChange as number;
    expect(afterLink).toBeGreaterThanOrEqual(1);
    expect(result.afterAddressChange as number).toBeGreaterThan(afterLink);
    expect(result.afterClose).toBe(result.afterAddressChange);
  });

  it('rejects bad use with clear errors and surfaces callback exceptions', () => {
    expect(result.sendAfterClose).toMatch(/closed/);
    expect(result.shortFrame).toMatch(/14\.\.65535/);
    expect(result.badIf).toMatch(/no such interface/);
    expect(result.badCallback).toMatch(/onFrame must be a function/);
    expect(result.callbackThrow).toBe('boom from callback');
  });
});
