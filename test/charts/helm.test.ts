import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../support/require.ts';
import { chartDir as chart, helmTemplate } from './helm.ts';

// The chart rendered by a real helm: lint clean, every document well-formed, and the security
// posture the README promises (non-root everywhere; the speaker holds CAP_NET_RAW and nothing else).

describe.skipIf(skipUnless({ binaries: ['helm'] }))('helm chart', () => {
  it('passes helm lint', () => {
    const out = execFileSync('helm', ['lint', chart, '--strict'], { encoding: 'utf8' });
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the three components, their RBAC and the DNS Service on UDP and TCP', () => {
    const docs = helmTemplate();
    const kinds = docs.map((d) => `${d.kind}/${d.metadata?.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Deployment/portico-controller',
        'DaemonSet/portico-speaker',
        'Deployment/portico-dns',
        'Service/portico-dns',
        'ClusterRole/portico-controller',
        'Role/portico-controller',
        'ClusterRole/portico-speaker',
        'Role/portico-speaker',
        'ClusterRole/portico-dns',
        'DNSZone/k8s-home-arpa',
      ]),
    );
    const svc = docs.find((d) => d.kind === 'Service');
    expect(svc?.spec.ports.map((p: { protocol: string; port: number }) => `${p.port}/${p.protocol}`)).toEqual(
      ['53/UDP', '53/TCP'],
    );
    expect(svc?.spec.loadBalancerClass).toBe('portico.dev/lb');
  });

  it('runs every container as non-root; only the speaker adds a capability, and only NET_RAW', () => {
    const docs = helmTemplate();
    const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet');
    expect(workloads).toHaveLength(3);
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        expect(c.securityContext.runAsNonRoot, `${w.metadata.name}`).toBe(true);
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
        const added = c.securityContext.capabilities.add ?? [];
        expect(added).toEqual(w.kind === 'DaemonSet' ? ['NET_RAW'] : []);
      }
    }
  });

  it('leaves out DNS and the speaker when disabled, and renders pools with their L2Advertisement', () => {
    const docs = helmTemplate([
      '--set',
      'dns.enabled=false',
      '--set',
      'speaker.enabled=false',
      '--set-json',
      'pools=[{"name":"lan","addresses":["192.0.2.240-192.0.2.250"],"l2":true}]',
    ]);
    const kinds = docs.map((d) => `${d.kind}/${d.metadata?.name}`);
    expect(kinds.some((k) => k.includes('-dns') || k.includes('-speaker'))).toBe(false);
    expect(kinds).toEqual(expect.arrayContaining(['IPAddressPool/lan', 'L2Advertisement/lan']));
  });
});
