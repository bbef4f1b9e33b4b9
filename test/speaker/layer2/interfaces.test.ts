import { describe, expect, it } from 'vitest';
import {
  type Link,
  linksFromIpJson,
  linksFromSummary,
  selectInterfaces,
  summarizeLinks,
} from '../../../speaker/layer2/interfaces.ts';

const link = (name: string, addresses: string[], over: Partial<Link> = {}): Link => ({
  name,
  up: true,
  addresses: addresses.map((a) => ({ address: a.split('/')[0]!, prefixLength: Number(a.split('/')[1]) })),
  ...over,
});

const LINKS: Link[] = [
  link('lo', ['127.0.0.1/8', '192.0.2.200/32'], { loopback: true }),
  link('eth0', ['192.0.2.2/24', '2001:db8::2/64']),
  link('eth1', ['198.51.100.2/24']),
  link('br0', ['203.0.113.2/24']),
  link('eth2', [], { master: 'br0' }),
  link('eth3', ['203.0.113.130/25'], { up: false }),
  link('vlan10', ['192.0.2.129/25']),
];

describe('interface selection', () => {
  it.each([
    ['192.0.2.10', ['eth0']],
    ['198.51.100.77', ['eth1']],
    ['203.0.113.9', ['br0']],
    ['2001:db8::10', ['eth0']],
    // Longest prefix wins: 192.0.2.200 is in eth0's /24 and vlan10's /25.
    ['192.0.2.201', ['vlan10']],
  ])('%s → %j (the interface whose subnet holds it)', (vip, want) => {
    expect(selectInterfaces(vip, LINKS)).toEqual({ interfaces: want });
  });

  it('never a down link: 203.0.113.140 only matches the down eth3 /25, so falls back to br0 /24', () => {
    expect(selectInterfaces('203.0.113.140', LINKS)).toEqual({ interfaces: ['br0'] });
  });

  it('no subnet holds the VIP → not eligible, with a reason', () => {
    const r = selectInterfaces(
      '203.0.113.140',
      LINKS.filter((l) => l.name !== 'br0'),
    );
    expect(r.interfaces).toEqual([]);
    expect(r.reason).toMatch(/no usable interface/);
  });

  it('a host route on loopback (a VIP configured on lo) never selects lo', () => {
    expect(selectInterfaces('192.0.2.200', LINKS)).toEqual({ interfaces: ['vlan10'] });
  });

  it('L2Advertisement.interfaces: every listed usable link, never slaves or down links', () => {
    expect(selectInterfaces('203.0.113.9', LINKS, ['eth1', 'eth0'])).toEqual({
      interfaces: ['eth0', 'eth1'],
    });
    const r = selectInterfaces('203.0.113.9', LINKS, ['eth2', 'eth3', 'nope']);
    expect(r.interfaces).toEqual([]);
    expect(r.reason).toMatch(/eth2, eth3, nope/);
  });

  it('rejects a non-IP', () => {
    expect(selectInterfaces('example', LINKS).reason).toMatch(/not an IP/);
  });

  it('summary for heartbeats round-trips the usable links only', () => {
    const summary = summarizeLinks(LINKS);
    expect(summary.map((s) => s.n)).toEqual(['br0', 'eth0', 'eth1', 'vlan10']);
    const back = linksFromSummary(JSON.parse(JSON.stringify(summary)))!;
    for (const vip of ['192.0.2.10', '198.51.100.77', '203.0.113.9', '2001:db8::10', '192.0.2.201']) {
      expect(selectInterfaces(vip, back)).toEqual(selectInterfaces(vip, LINKS));
    }
  });

  it.each([
    [null],
    [{}],
    [[{ n: 1, a: [] }]],
    [[{ n: 'x', a: ['nope/24'] }]],
    [[{ n: 'x', a: ['192.0.2.1'] }]],
  ])('rejects a malformed summary %j', (bad) => {
    expect(linksFromSummary(bad)).toBeUndefined();
  });

  it('reads `ip -j -d addr show` output', () => {
    const json = [
      {
        ifindex: 1,
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
        link_type: 'loopback',
        address: '00:00:00:00:00:00',
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
      },
      {
        ifindex: 2,
        ifname: 'eth0',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        link_type: 'ether',
        address: '02:00:00:00:01:01',
        addr_info: [
          { family: 'inet', local: '192.0.2.2', prefixlen: 24, scope: 'global' },
          { family: 'inet6', local: '2001:db8::2', prefixlen: 64, scope: 'global' },
          { family: 'inet6', local: 'fe80::ff:fe00:101', prefixlen: 64, scope: 'link' },
        ],
      },
      {
        ifindex: 3,
        ifname: 'eth1',
        flags: ['BROADCAST', 'MULTICAST', 'UP'],
        address: '02:00:00:00:01:02',
        addr_info: [],
      },
      { ifindex: 4, ifname: 'eth2', flags: ['UP', 'LOWER_UP'], master: 'bond0', addr_info: [] },
      { nonsense: true },
    ];
    const links = linksFromIpJson(json);
    expect(links).toEqual([
      { name: 'lo', up: true, loopback: true, mac: '00:00:00:00:00:00', index: 1, addresses: [] },
      {
        name: 'eth0',
        up: true,
        loopback: false,
        mac: '02:00:00:00:01:01',
        index: 2,
        addresses: [
          { address: '192.0.2.2', prefixLength: 24 },
          { address: '2001:db8::2', prefixLength: 64 },
        ],
      },
      { name: 'eth1', up: false, loopback: false, mac: '02:00:00:00:01:02', index: 3, addresses: [] },
      { name: 'eth2', up: true, loopback: false, master: 'bond0', index: 4, addresses: [] },
    ]);
    expect(linksFromIpJson('garbage')).toEqual([]);
  });
});
