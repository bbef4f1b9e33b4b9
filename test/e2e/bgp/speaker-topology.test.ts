// The pure parts of speaker-topology.ts: what the speakers are started with (the --bgp wiring the
// e2e and the bench rely on), the Service bodies, and the RSS figure the bench reports.
import { describe, expect, it } from 'vitest';
import {
  API_IP,
  apiSource,
  countLinesStarting,
  parseCpuTicks,
  parseVmRssMb,
  SPEAKER_NS,
  serviceBody,
  speakerArgv,
} from './speaker-topology.ts';

describe('speakerArgv', () => {
  it('runs speaker/main.ts in BGP mode as the node, with its heartbeat address, metrics off', () => {
    const argv = speakerArgv({
      entry: '/repo/speaker/main.ts',
      kubeconfig: '/tmp/sa.kubeconfig',
      node: 'n2',
      ip: '192.0.2.12',
      keyFile: '/tmp/key',
      extra: ['--lb-class=e2e.portico.dev/v6'],
    });
    expect(argv[0]).toBe(process.execPath);
    expect(argv.slice(1)).toEqual([
      '/repo/speaker/main.ts',
      '--kubeconfig=/tmp/sa.kubeconfig',
      '--node-name=n2',
      `--namespace=${SPEAKER_NS}`,
      '--key-file=/tmp/key',
      '--heartbeat-address=192.0.2.12',
      '--metrics-address=',
      '--bgp',
      '--lb-class=e2e.portico.dev/v6',
    ]);
  });
});

describe('serviceBody', () => {
  it('a LoadBalancer Service on :8080; ip, class and externalTrafficPolicy only when asked', () => {
    expect(serviceBody('e2e', 'web')).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'e2e', annotations: {} },
      spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } },
    });
    const b = serviceBody('e2e', 'l', { ip: '203.0.113.10', etp: 'Local', cls: 'x.example/lb' }) as {
      metadata: { annotations: Record<string, string> };
      spec: Record<string, unknown>;
    };
    expect(b.metadata.annotations).toEqual({ 'portico.dev/load-balancer-ips': '203.0.113.10' });
    expect(b.spec).toMatchObject({ externalTrafficPolicy: 'Local', loadBalancerClass: 'x.example/lb' });
  });
});

describe('the API link addresses', () => {
  it('stay outside 192.0.2.0/24 (the host uplink may be there) and below the API address', () => {
    expect(API_IP.startsWith('192.0.2.')).toBe(false);
    expect([0, 1, 2].map(apiSource)).toEqual(['203.0.113.241', '203.0.113.242', '203.0.113.243']);
  });
});

describe('parseVmRssMb', () => {
  it.each([
    ['Name:\tnode\nVmPeak:\t 900000 kB\nVmRSS:\t   81920 kB\nRssAnon:\t 60000 kB\n', 80],
    ['VmRSS:\t 1000 kB\n', 1],
    ['Name:\tzombie\n', 0],
  ])('%j → %d MB', (text, mb) => {
    expect(parseVmRssMb(text)).toBe(mb);
  });
});

describe('countLinesStarting', () => {
  it('counts the route lines of a range in `ip route show` output, nothing else', () => {
    const text = [
      '2001:db8:100::1 via 2001:db8:1::11 dev eth0 proto bgp metric 20 pref medium',
      '2001:db8:100::2 via 2001:db8:1::11 dev eth0 proto bgp metric 20 pref medium',
      '2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium',
      ' 2001:db8:100::3 (indented: a nexthop line, not a route)',
      '2001:db8:100::4 via 2001:db8:1::11 dev eth0 proto bgp metric 20 pref medium',
    ].join('\n');
    expect(countLinesStarting(text, '2001:db8:100:')).toBe(3);
    expect(countLinesStarting(`${text}\n`, '2001:db8:100:')).toBe(3);
    expect(countLinesStarting('', '2001:db8:100:')).toBe(0);
  });
});

describe('parseCpuTicks', () => {
  it('utime + stime, past a command name with spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 9000 0 0 0 731 269 0 0 20 0 11 0 123 0 0';
    expect(parseCpuTicks(stat)).toBe(1000);
  });
});
