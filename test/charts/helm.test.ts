import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../support/require.ts';
import { chartDir as chart, helmNotes, helmTemplate } from './helm.ts';

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

  it("lets the non-root speaker read its 0440 key Secret: the pod's fsGroup is the speaker's group", () => {
    const ds = helmTemplate().find((d) => d.kind === 'DaemonSet');
    const spec = ds?.spec.template.spec;
    const container = spec.containers[0];
    expect(spec.volumes.some((v: { secret?: unknown }) => v.secret)).toBe(true);
    expect(spec.securityContext.fsGroup).toBe(container.securityContext.runAsGroup);
  });

  it('metallbCompat: off by default; enabled adds the controller flags and the mirror grants, bound to the controller', () => {
    const off = helmTemplate();
    const ctlArgs = (docs: ReturnType<typeof helmTemplate>) =>
      docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'portico-controller')?.spec.template
        .spec.containers[0].args as string[];
    expect(ctlArgs(off).filter((a) => a.startsWith('--metallb'))).toEqual([]);
    expect(off.some((d) => d.metadata?.name === 'portico-controller-metallb')).toBe(false);
    const on = helmTemplate(['--set', 'metallbCompat.enabled=true', '--set', 'metallbCompat.namespace=lb']);
    expect(ctlArgs(on).filter((a) => a.startsWith('--metallb'))).toEqual([
      '--metallb-compat',
      '--metallb-namespace=lb',
    ]);
    const role = on.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'portico-controller-metallb');
    expect(role?.rules).toEqual(
      expect.arrayContaining([
        {
          apiGroups: ['metallb.io'],
          resources: ['ipaddresspools', 'l2advertisements', 'bgppeers', 'bgpadvertisements', 'communities'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['portico.dev'],
          resources: ['l2advertisements', 'bgppeers', 'bgpadvertisements'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
        },
      ]),
    );
    const binding = on.find(
      (d) => d.kind === 'ClusterRoleBinding' && d.metadata.name === 'portico-controller-metallb',
    );
    expect(binding?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'portico-controller', namespace: 'portico-system' },
    ]);
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

  it('BGP mode: off by default (no --bgp, no Secret access); on adds the flag and the BGP roles', () => {
    const args = (docs: ReturnType<typeof helmTemplate>) =>
      docs.find((d) => d.kind === 'DaemonSet')?.spec.template.spec.containers[0].args as string[];
    const names = (docs: ReturnType<typeof helmTemplate>) => docs.map((d) => `${d.kind}/${d.metadata?.name}`);
    const off = helmTemplate();
    expect(args(off)).not.toContain('--bgp');
    expect(names(off).filter((n) => n.includes('speaker-bgp'))).toEqual([]);
    expect(JSON.stringify(off.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole'))).not.toContain(
      '"secrets"',
    );
    const on = helmTemplate(['--set', 'speaker.bgp.enabled=true']);
    expect(args(on)).toContain('--bgp');
    expect(names(on)).toEqual(
      expect.arrayContaining([
        'ClusterRole/portico-speaker-bgp',
        'ClusterRoleBinding/portico-speaker-bgp',
        'Role/portico-speaker-bgp',
        'RoleBinding/portico-speaker-bgp',
      ]),
    );
    const role = on.find((d) => d.kind === 'Role' && d.metadata.name === 'portico-speaker-bgp');
    expect(role?.metadata.namespace).toBe('portico-system');
    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
    ]);
    const noSpeaker = helmTemplate(['--set', 'speaker.bgp.enabled=true', '--set', 'speaker.enabled=false']);
    expect(names(noSpeaker).some((n) => n.includes('speaker'))).toBe(false);
  });

  it('pins the DNS node port on UDP and TCP when dns.service.nodePort is set (the /etc/resolver setup)', () => {
    const ports = (args: string[]) =>
      helmTemplate(args)
        .find((d) => d.kind === 'Service' && d.metadata?.name === 'portico-dns')
        ?.spec.ports.map(
          (p: { protocol: string; nodePort?: number }) => `${p.protocol}:${p.nodePort ?? '-'}`,
        );
    expect(ports(['--set', 'dns.service.nodePort=30053'])).toEqual(['UDP:30053', 'TCP:30053']);
    expect(ports(['--set', 'dns.service.nodePort=30053', '--set', 'dns.service.type=NodePort'])).toEqual([
      'UDP:30053',
      'TCP:30053',
    ]);
    // Unset: Kubernetes picks; ClusterIP: no node port at all, whatever the value says.
    expect(ports([])).toEqual(['UDP:-', 'TCP:-']);
    expect(ports(['--set', 'dns.service.nodePort=30053', '--set', 'dns.service.type=ClusterIP'])).toEqual([
      'UDP:-',
      'TCP:-',
    ]);
  });

  // -------------------------------------------------------------------------------------------
  // Operating conventions: disruption budgets, priorities, monitoring, NOTES.

  const named = (docs: ReturnType<typeof helmTemplate>) => docs.map((d) => `${d.kind}/${d.metadata?.name}`);
  const workload = (docs: ReturnType<typeof helmTemplate>, name: string) =>
    docs.find((d) => d.metadata?.name === name && (d.kind === 'Deployment' || d.kind === 'DaemonSet'));
  const podLabels = (docs: ReturnType<typeof helmTemplate>, name: string) =>
    workload(docs, name)?.spec.template.metadata.labels;

  it('a PodDisruptionBudget (maxUnavailable 1) per Deployment with more than one replica, selecting its pods', () => {
    const docs = helmTemplate();
    const pdbs = docs.filter((d) => d.kind === 'PodDisruptionBudget');
    expect(pdbs.map((p) => p.metadata.name).sort()).toEqual(['portico-controller', 'portico-dns']);
    for (const p of pdbs) {
      expect(p.apiVersion).toBe('policy/v1');
      expect(p.spec).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: podLabels(docs, p.metadata.name) },
      });
    }
  });

  it('no PodDisruptionBudget for a single replica (it would block every drain) or a disabled DNS server', () => {
    const pdbs = (args: string[]) =>
      named(helmTemplate(args)).filter((k) => k.startsWith('PodDisruptionBudget/'));
    expect(pdbs(['--set', 'controller.replicas=1', '--set', 'dns.replicas=1'])).toEqual([]);
    expect(pdbs(['--set', 'controller.replicas=1'])).toEqual(['PodDisruptionBudget/portico-dns']);
    expect(pdbs(['--set', 'dns.enabled=false'])).toEqual(['PodDisruptionBudget/portico-controller']);
  });

  it('priorityClassName: system-node-critical for the speaker by default, none for the others unless set', () => {
    const prio = (args: string[]) =>
      Object.fromEntries(
        helmTemplate(args)
          .filter((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')
          .map((d) => [d.metadata.name, d.spec.template.spec.priorityClassName ?? null]),
      );
    expect(prio([])).toEqual({
      'portico-controller': null,
      'portico-dns': null,
      'portico-speaker': 'system-node-critical',
    });
    expect(
      prio([
        '--set',
        'controller.priorityClassName=infra',
        '--set',
        'dns.priorityClassName=dns-critical',
        '--set',
        'speaker.priorityClassName=',
      ]),
    ).toEqual({ 'portico-controller': 'infra', 'portico-dns': 'dns-critical', 'portico-speaker': null });
  });

  it('renders no monitoring objects by default', () => {
    const kinds = named(helmTemplate());
    expect(kinds.filter((k) => /ServiceMonitor|PrometheusRule|ConfigMap|-metrics$/.test(k))).toEqual([]);
  });

  it('serviceMonitor: a headless metrics Service per component and one ServiceMonitor selecting exactly those', () => {
    const docs = helmTemplate([
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.serviceMonitor.labels.release=prom',
    ]);
    const services = docs.filter((d) => d.kind === 'Service');
    const metricsServices = services.filter((s) => s.metadata.name.endsWith('-metrics'));
    expect(metricsServices.map((s) => s.metadata.name).sort()).toEqual([
      'portico-controller-metrics',
      'portico-dns-metrics',
      'portico-speaker-metrics',
    ]);
    for (const s of metricsServices) {
      const name = s.metadata.name.replace(/-metrics$/, '');
      expect(s.spec.clusterIP).toBe('None');
      expect(s.spec.selector).toEqual(podLabels(docs, name));
      // The port name the Service targets exists on the container, with the same number.
      const container = workload(docs, name)?.spec.template.spec.containers[0];
      const port = container.ports.find((p: { name: string }) => p.name === 'metrics');
      expect(s.spec.ports).toEqual([
        { name: 'metrics', port: port.containerPort, targetPort: 'metrics', protocol: 'TCP' },
      ]);
    }
    const sm = docs.filter((d) => d.kind === 'ServiceMonitor');
    expect(sm).toHaveLength(1);
    expect(sm[0]!.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm[0]!.metadata.labels.release).toBe('prom');
    const selected = services.filter((s) =>
      Object.entries(sm[0]!.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(
      metricsServices.map((s) => s.metadata.name).sort(),
    );
    expect(sm[0]!.spec.endpoints).toEqual([
      {
        port: 'metrics',
        path: '/metrics',
        interval: '30s',
        scrapeTimeout: '10s',
        relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }],
      },
    ]);

    const noSpeaker = named(
      helmTemplate(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'speaker.enabled=false']),
    );
    expect(noSpeaker).not.toContain('Service/portico-speaker-metrics');
    expect(noSpeaker).toContain('Service/portico-controller-metrics');
  });

  it('prometheusRule: the alerts, thresholds from values, alerts of disabled parts left out', () => {
    const alerts = (args: string[]) => {
      const rule = helmTemplate(['--set', 'metrics.prometheusRule.enabled=true', ...args]).find(
        (d) => d.kind === 'PrometheusRule',
      );
      expect(rule?.apiVersion).toBe('monitoring.coreos.com/v1');
      return Object.fromEntries(
        rule!.spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) =>
          g.rules.map((r) => [r.alert, r.expr]),
        ),
      ) as Record<string, string>;
    };
    const all = alerts([]);
    expect(Object.keys(all)).toEqual([
      'PorticoPoolNearlyExhausted',
      'PorticoAllocationFailed',
      'PorticoServiceWithoutIP',
      'PorticoControllerNoLeader',
      'PorticoVIPNotAnnounced',
      'PorticoVIPAnnouncedTwice',
      'PorticoVIPConflict',
      'PorticoSpeakerPeersMissing',
      'PorticoDNSServfail',
    ]);
    expect(all.PorticoPoolNearlyExhausted).toMatch(/> 0\.9$/);
    const withBgp = alerts(['--set', 'speaker.bgp.enabled=true']);
    expect(Object.keys(withBgp)).toContain('PorticoBGPSessionDown');
    expect(withBgp.PorticoBGPSessionDown).toBe('portico_speaker_bgp_session_up == 0');
    expect(all.PorticoDNSServfail).toMatch(/\) > 0\.05\n/);
    const tuned = alerts([
      '--set',
      'metrics.prometheusRule.poolUsageThreshold=0.8',
      '--set',
      'metrics.prometheusRule.servfailRatio=0.2',
    ]);
    expect(tuned.PorticoPoolNearlyExhausted).toMatch(/> 0\.8$/);
    expect(tuned.PorticoDNSServfail).toMatch(/\) > 0\.2\n/);
    const reduced = Object.keys(
      alerts([
        '--set',
        'metrics.prometheusRule.kubeStateMetrics=false',
        '--set',
        'speaker.enabled=false',
        '--set',
        'dns.enabled=false',
      ]),
    );
    expect(reduced).toEqual([
      'PorticoPoolNearlyExhausted',
      'PorticoAllocationFailed',
      'PorticoControllerNoLeader',
    ]);
  });

  it('grafanaDashboard: dashboards/portico.json in a ConfigMap the Grafana sidecar picks up', () => {
    const file = readFileSync(join(chart, 'dashboards', 'portico.json'), 'utf8');
    const dashboard = JSON.parse(file) as { uid: string; panels: unknown[] };
    expect(dashboard.uid).toBe('portico');
    const cm = (args: string[]) =>
      helmTemplate(['--set', 'metrics.grafanaDashboard.enabled=true', ...args]).find(
        (d) => d.kind === 'ConfigMap',
      );
    const def = cm([]);
    expect(def?.metadata).toMatchObject({ name: 'portico-dashboard', namespace: 'portico-system' });
    expect(def?.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(def?.data['portico.json'])).toEqual(dashboard);
    expect(cm(['--set', 'metrics.grafanaDashboard.namespace=monitoring'])?.metadata.namespace).toBe(
      'monitoring',
    );
  });

  it('NOTES: a pool example, the /etc/resolver line for the pinned node port, the status commands', () => {
    const pinned = helmNotes(['--set', 'dns.service.nodePort=30053']);
    expect(pinned).toContain('kind: IPAddressPool');
    expect(pinned).toContain('kind: L2Advertisement');
    expect(pinned).toContain(
      `printf 'nameserver %s\\nport 30053\\n' "$NODE_IP" | sudo tee /etc/resolver/k8s.home.arpa`,
    );
    expect(pinned).toContain('dig @"$NODE_IP" -p 30053 k8s.home.arpa SOA');
    for (const cmd of [
      'npx portico status',
      'npx portico why NAMESPACE/NAME',
      'kubectl get ipaddresspools',
      'kubectl get svc -A --field-selector spec.type=LoadBalancer',
      'kubectl get dnszones',
    ])
      expect(pinned).toContain(cmd);
    // Without a pinned port: the VIP, read from the Service status.
    const vip = helmNotes();
    expect(vip).toContain(
      `VIP=$(kubectl -n portico-system get svc portico-dns -o jsonpath='{.status.loadBalancer.ingress[0].ip}')`,
    );
    expect(vip).toContain('echo "nameserver $VIP" | sudo tee /etc/resolver/k8s.home.arpa');
    expect(vip).not.toContain('port 30053');
    // A fixed VIP is printed as is; a ClusterIP Service cannot be reached from outside.
    expect(helmNotes(['--set', 'dns.service.loadBalancerIP=192.0.2.53'])).toContain(
      "echo 'nameserver 192.0.2.53' | sudo tee /etc/resolver/k8s.home.arpa",
    );
    expect(helmNotes(['--set', 'dns.service.type=ClusterIP', '--set', 'dns.service.nodePort=30053'])).toMatch(
      /reachable inside the cluster only/,
    );
  });

  it('NOTES without DNS: no resolver step, no dnszones, two steps', () => {
    const notes = helmNotes(['--set', 'dns.enabled=false']);
    expect(notes).not.toContain('/etc/resolver');
    expect(notes).not.toContain('dnszones');
    expect(notes).not.toContain('DNS zones');
    expect(notes).toContain('npx portico status');
    expect(notes).toMatch(/^2\. See what Portico did, in one view/m);
  });
});
