import { describe, expect, it } from 'vitest';
import type { VipDecision } from '../../../speaker/election/elect.ts';
import {
  HEARTBEAT_ADDRESS_ANNOTATION,
  type LeaseLike,
  leaseBody,
  leaseFresh,
  leaseName,
  nextExpiry,
  peersFromLeases,
  SPEAKER_LEASE_LABEL,
} from '../../../speaker/kube/peers.ts';
import {
  announcedCondition,
  conditionMatches,
  ownerChanges,
  planStatus,
  staleAnnounced,
  writerOf,
} from '../../../speaker/kube/status.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function lease(
  node: string,
  address: string,
  renewAt: number,
  durationS = 60,
  over: Partial<LeaseLike> = {},
): LeaseLike {
  const b = leaseBody({
    node,
    namespace: 'ns',
    address,
    durationMs: durationS * 1000,
    now: renewAt,
  }) as LeaseLike;
  return { ...b, ...over };
}

describe('speaker Leases', () => {
  it('body: name, label, address, duration, MicroTime renewTime, owner Node when known', () => {
    const b = leaseBody({
      node: 'n1',
      namespace: 'ns',
      address: '192.0.2.11',
      durationMs: 60_000,
      now: T0,
      nodeUid: 'u1',
    });
    expect(b).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'portico-speaker-n1',
        namespace: 'ns',
        labels: { [SPEAKER_LEASE_LABEL]: 'true', 'app.kubernetes.io/part-of': 'portico' },
        annotations: { [HEARTBEAT_ADDRESS_ANNOTATION]: '192.0.2.11' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u1' }],
      },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 60, renewTime: '2026-01-01T00:00:00.000000Z' },
    });
    expect(leaseName('x'.repeat(300)).length).toBe(253);
  });

  it('freshness: renewTime + duration (+ grace); garbage is stale', () => {
    const l = lease('n1', '192.0.2.11', T0, 60);
    expect(leaseFresh(l, T0 + 60_000)).toBe(true);
    expect(leaseFresh(l, T0 + 60_001)).toBe(false);
    expect(leaseFresh(l, T0 + 70_000, 10_000)).toBe(true);
    expect(leaseFresh({ spec: { renewTime: 'yesterday', leaseDurationSeconds: 60 } }, T0)).toBe(false);
    expect(leaseFresh({ spec: { renewTime: '2026-01-01T00:00:00Z' } }, T0)).toBe(false);
    expect(leaseFresh({}, T0)).toBe(false);
  });

  it('peers: fresh speaker Leases of other nodes with a valid address, sorted, one per node', () => {
    const leases: LeaseLike[] = [
      lease('n3', '192.0.2.13', T0),
      lease('n1', '192.0.2.11', T0),
      lease('self', '192.0.2.10', T0),
      lease('old', '192.0.2.14', T0 - 3_600_000),
      lease('bad', 'not-an-ip', T0),
      lease('v6', '2001:db8::6', T0),
      // A Lease naming another holder than its name says: not trusted.
      {
        ...lease('n9', '192.0.2.19', T0),
        metadata: { ...lease('n9', '192.0.2.19', T0).metadata, name: 'portico-speaker-n8' },
      },
      // Unlabelled: some other Lease in the namespace.
      { ...lease('n7', '192.0.2.17', T0), metadata: { name: 'portico-speaker-n7', labels: {} } },
      lease('dying', '192.0.2.15', T0, 60, {}),
    ];
    leases[leases.length - 1]!.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(peersFromLeases(leases, 'self', T0 + 1000)).toEqual([
      { node: 'n1', address: '192.0.2.11' },
      { node: 'n3', address: '192.0.2.13' },
      { node: 'v6', address: '2001:db8::6' },
    ]);
    expect(peersFromLeases(leases, 'self', T0 + 61_000)).toEqual([]);
  });

  it('nextExpiry: the earliest future expiry', () => {
    const ls = [
      lease('a', '192.0.2.1', T0, 60),
      lease('b', '192.0.2.2', T0 - 30_000, 60),
      lease('c', '192.0.2.3', T0 - 120_000, 60),
    ];
    expect(nextExpiry(ls, T0)).toBe(T0 + 30_000);
    expect(nextExpiry(ls, T0, 5000)).toBe(T0 + 35_000);
    expect(nextExpiry([], T0)).toBeUndefined();
  });
});

function owned(ip: string, owner: string, interfaces = ['eth0'], services = ['ns/a']): VipDecision {
  return { ip, owner, candidates: [owner], interfaces, services };
}
function none(
  ip: string,
  reason: 'no-l2advertisement' | 'no-live-node' | 'no-pool',
  services = ['ns/a'],
): VipDecision {
  return { ip, owner: undefined, reason, message: `because ${reason}`, services };
}

describe('Announced condition', () => {
  it('True with node and interface of every VIP', () => {
    const d = new Map([
      ['192.0.2.1', owned('192.0.2.1', 'n1')],
      ['2001:db8::1', owned('2001:db8::1', 'n2', ['eth1', 'eth2'])],
    ]);
    expect(announcedCondition(['192.0.2.1', '2001:db8::1'], d)).toEqual({
      type: 'portico.dev/Announced',
      status: 'True',
      reason: 'Announced',
      message: '192.0.2.1: node n1 interface eth0; 2001:db8::1: node n2 interface eth1,eth2',
    });
  });
  it('False with NoL2Advertisement or NoEligibleNode from the first VIP not announced', () => {
    const d = new Map<string, VipDecision>([
      ['192.0.2.1', owned('192.0.2.1', 'n1')],
      ['192.0.2.2', none('192.0.2.2', 'no-l2advertisement')],
      ['192.0.2.3', none('192.0.2.3', 'no-live-node')],
    ]);
    expect(announcedCondition(['192.0.2.1', '192.0.2.2'], d)).toMatchObject({
      status: 'False',
      reason: 'NoL2Advertisement',
      message: '192.0.2.1: node n1 interface eth0; 192.0.2.2: not announced (because no-l2advertisement)',
    });
    expect(announcedCondition(['192.0.2.3', '192.0.2.2'], d)).toMatchObject({
      status: 'False',
      reason: 'NoEligibleNode',
    });
    expect(announcedCondition(['192.0.2.9'], d)).toMatchObject({ status: 'False', reason: 'NoEligibleNode' });
    expect(announcedCondition([], d)).toBeUndefined();
  });

  it('exactly one writer per Service: the first owner, else the lowest live speaker', () => {
    const d = new Map<string, VipDecision>([
      ['192.0.2.1', none('192.0.2.1', 'no-l2advertisement')],
      ['192.0.2.2', owned('192.0.2.2', 'n3')],
      ['192.0.2.3', owned('192.0.2.3', 'n2')],
    ]);
    expect(writerOf(['192.0.2.1', '192.0.2.2', '192.0.2.3'], d, ['n1', 'n2', 'n3'])).toBe('n3');
    expect(writerOf(['192.0.2.1'], d, ['n3', 'n2'])).toBe('n2');
    expect(writerOf(['192.0.2.1'], d, [])).toBeUndefined();
    const sv = new Map([
      ['ns/a', ['192.0.2.1']],
      ['ns/b', ['192.0.2.2']],
      ['ns/c', ['192.0.2.3']],
      ['ns/d', []],
    ]);
    const alive = ['n1', 'n2', 'n3'];
    const plans = alive.map((n) => planStatus(n, sv, d, alive).write);
    // Every Service with VIPs is written by exactly one node.
    for (const key of ['ns/a', 'ns/b', 'ns/c']) expect(plans.filter((p) => p.has(key)).length).toBe(1);
    expect([...plans[0]!.keys()]).toEqual(['ns/a']);
    expect([...plans[1]!.keys()]).toEqual(['ns/c']);
    expect([...plans[2]!.keys()]).toEqual(['ns/b']);
  });

  it('conditionMatches ignores lastTransitionTime but not status, reason or message', () => {
    const want = announcedCondition(['192.0.2.2'], new Map([['192.0.2.2', owned('192.0.2.2', 'n3')]]))!;
    const have = [
      { ...want, lastTransitionTime: 'x' },
      { type: 'other', status: 'True', reason: 'r', message: 'm' },
    ];
    expect(conditionMatches(have, want)).toBe(true);
    expect(conditionMatches([{ ...want, message: 'old' }], want)).toBe(false);
    expect(conditionMatches([{ ...want, status: 'False' }], want)).toBe(false);
    expect(conditionMatches(undefined, want)).toBe(false);
  });

  it('ownerChanges lists gained, lost and moved VIPs, none on the first election', () => {
    const a = new Map<string, VipDecision>([
      ['192.0.2.1', owned('192.0.2.1', 'n1')],
      ['192.0.2.2', owned('192.0.2.2', 'n2')],
      ['192.0.2.3', owned('192.0.2.3', 'n3')],
    ]);
    const b = new Map<string, VipDecision>([
      ['192.0.2.1', owned('192.0.2.1', 'n1')],
      ['192.0.2.2', owned('192.0.2.2', 'n3')],
      ['192.0.2.4', owned('192.0.2.4', 'n1')],
    ]);
    expect(ownerChanges(undefined, b)).toEqual([]);
    expect(ownerChanges(a, b)).toEqual([
      { ip: '192.0.2.2', from: 'n2', to: 'n3' },
      { ip: '192.0.2.3', from: 'n3', to: undefined },
      { ip: '192.0.2.4', from: undefined, to: 'n1' },
    ]);
  });
});

describe('staleAnnounced', () => {
  it('Services carrying the condition with no VIP to announce (or no longer handled)', () => {
    const cond = { type: 'portico.dev/Announced' };
    const svcs = [
      { metadata: { namespace: 'a', name: 'kept' }, status: { conditions: [cond] } },
      { metadata: { namespace: 'a', name: 'released' }, status: { conditions: [cond] } },
      { metadata: { namespace: 'a', name: 'foreign' }, status: { conditions: [{ type: 'other' }, cond] } },
      { metadata: { namespace: 'a', name: 'never' }, status: { conditions: [{ type: 'other' }] } },
      { metadata: { namespace: 'a', name: 'plain' } },
    ];
    const sv = new Map([
      ['a/kept', ['192.0.2.1']],
      ['a/released', []],
      ['a/never', []],
    ]);
    expect(staleAnnounced(svcs, sv)).toEqual(['a/foreign', 'a/released']);
  });
});
