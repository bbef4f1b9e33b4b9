import { describe, expect, test } from 'vitest';
import { parseFlags } from '../../controllers/flags.ts';
import { CONTROLLER_CLUSTER_ROLE_RULES, CONTROLLER_LEASE_RULES } from '../../controllers/rbac.ts';

describe('parseFlags', () => {
  test('defaults', () => {
    const r = parseFlags([], {});
    expect(r).toMatchObject({
      ok: true,
      help: false,
      options: {
        leaseNamespace: 'portico-system',
        leaseName: 'portico-controller',
        handleUnclassed: true,
        leaderElect: true,
        metricsAddress: ':8080',
        logLevel: 'info',
        reclaimOutOfPool: false,
      },
    });
  });
  test('every flag', () => {
    const r = parseFlags(
      [
        '--kubeconfig=/k',
        '--lease-namespace',
        'ns',
        '--lease-name',
        'l',
        '--lb-class',
        'example.com/lb',
        '--handle-unclassed=false',
        '--leader-elect',
        'false',
        '--metrics-address',
        '127.0.0.1:0',
        '--log-level',
        'debug',
        '--reclaim-out-of-pool',
        '--lease-duration',
        '4',
        '--renew-deadline',
        '3',
        '--retry-period',
        '0.5',
        '--concurrency',
        '4',
      ],
      { POD_NAME: 'pod-1' },
    );
    expect(r).toMatchObject({
      ok: true,
      options: {
        kubeconfig: '/k',
        leaseNamespace: 'ns',
        leaseName: 'l',
        lbClass: 'example.com/lb',
        handleUnclassed: false,
        leaderElect: false,
        metricsAddress: '127.0.0.1:0',
        logLevel: 'debug',
        reclaimOutOfPool: true,
        leaseDurationMs: 4000,
        renewDeadlineMs: 3000,
        retryPeriodMs: 500,
        concurrency: 4,
        identity: 'pod-1',
      },
    });
  });
  test('POD_NAMESPACE sets the lease namespace', () => {
    expect(parseFlags([], { POD_NAMESPACE: 'sys' })).toMatchObject({ options: { leaseNamespace: 'sys' } });
  });
  test.each([
    [['--nope']],
    [['--handle-unclassed', 'maybe']],
    [['--log-level', 'loud']],
    [['--lb-class', 'no slash']],
    [['--lease-duration', '-1']],
    [['--concurrency', '0']],
    [['positional']],
  ])('bad input %j → error, no throw', (argv) => {
    const r = parseFlags(argv, {});
    expect(r.ok).toBe(false);
  });
});

describe('RBAC rules', () => {
  test('least privilege: no wildcards, no update/delete, writes only by patch', () => {
    for (const r of [...CONTROLLER_CLUSTER_ROLE_RULES, ...CONTROLLER_LEASE_RULES]) {
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('*');
      expect(r.verbs).not.toContain('delete');
    }
    const services = CONTROLLER_CLUSTER_ROLE_RULES.find((r) => r.resources.includes('services'));
    expect(services?.verbs).toEqual(['get', 'list', 'watch', 'patch']);
  });
});

describe('parseFlags: MetalLB mirror', () => {
  test('off by default; --metallb-compat turns it on; the namespace defaults in the controller', () => {
    const off = parseFlags([], {});
    expect(off.ok && off.options.metallbCompat).toBe(false);
    expect(off.ok && off.options.metallbNamespace).toBeUndefined();
    const on = parseFlags(['--metallb-compat', '--metallb-namespace', 'lb'], {});
    expect(on.ok && [on.options.metallbCompat, on.options.metallbNamespace]).toEqual([true, 'lb']);
    const all = parseFlags(['--metallb-compat', '--metallb-namespace='], {});
    expect(all.ok && all.options.metallbNamespace).toBeNull();
  });
  test('a bad namespace is a usage error naming the flag', () => {
    const r = parseFlags(['--metallb-namespace', 'Bad_NS'], {});
    expect(r).toEqual({ ok: false, error: '--metallb-namespace: "Bad_NS" is not a namespace name' });
  });
});
