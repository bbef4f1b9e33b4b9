import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  apiserverWrites,
  ensureMetalLB,
  metallbCacheDir,
  metallbL2Order,
  metallbL2Owner,
  metallbPeer,
  promSample,
  promSamples,
  ratioVs,
  SPEAKER_LABELS,
  speakerPod,
  speakerPodStatus,
} from './metallb.ts';
import { skipUnless } from './require.ts';

describe('metallbL2Order (MetalLB layer2 ShouldAnnounce order)', () => {
  // Expected orders from coreutils, independently of the code under test:
  //   printf 'n1#203.0.113.200' | sha256sum   → 96edeaf8…  (n2: bb0fcc04…, n3: 9c517d31…)
  //   printf 'n1#203.0.113.201' | sha256sum   → 663655c3…  (n2: 01a82b0b…, n3: 239b726f…)
  it('ranks nodes by ascending sha256("<node>#<ip>")', () => {
    expect(metallbL2Order(['n1', 'n2', 'n3'], '203.0.113.200')).toEqual(['n1', 'n3', 'n2']);
    expect(metallbL2Order(['n1', 'n2', 'n3'], '203.0.113.201')).toEqual(['n2', 'n3', 'n1']);
    expect(metallbL2Order(['n3', 'n1', 'n2'], '203.0.113.201')).toEqual(['n2', 'n3', 'n1']);
    // 2001:db8::1 → n2 6a296099…, n3 b098ac6b…, n1 dd9a9d9c…
    expect(metallbL2Order(['n1', 'n2', 'n3'], '2001:db8::1')).toEqual(['n2', 'n3', 'n1']);
  });
  it('the owner is the first; the next owner is the first of the rest', () => {
    expect(metallbL2Owner(['n1', 'n2', 'n3'], '203.0.113.200')).toBe('n1');
    expect(metallbL2Owner(['n2', 'n3'], '203.0.113.200')).toBe('n3');
    expect(metallbL2Owner([], '203.0.113.200')).toBeUndefined();
  });
  it('does not reorder its input', () => {
    const nodes = ['n2', 'n1'];
    metallbL2Order(nodes, '203.0.113.200');
    expect(nodes).toEqual(['n2', 'n1']);
  });
});

describe('promSample', () => {
  const text = [
    '# HELP metallb_allocator_addresses_in_use_total Number of IP addresses in use, per pool',
    '# TYPE metallb_allocator_addresses_in_use_total gauge',
    'metallb_allocator_addresses_in_use_total{pool="other"} 7',
    'metallb_allocator_addresses_in_use_total{pool="bench"} 2000',
    'metallb_allocator_addresses_in_use_total_extra{pool="bench"} 1',
    'metallb_allocator_addresses_total{pool="bench"} 1.8446744073709552e+19',
    'portico_controller_leader 1',
    'x{a="1",b="q\\"uoted"} 3',
  ].join('\n');
  it('reads the sample whose labels match', () => {
    expect(promSample(text, 'metallb_allocator_addresses_in_use_total', { pool: 'bench' })).toBe(2000);
    expect(promSample(text, 'metallb_allocator_addresses_in_use_total', { pool: 'other' })).toBe(7);
    expect(promSample(text, 'metallb_allocator_addresses_total', { pool: 'bench' })).toBe(2 ** 64);
    expect(promSample(text, 'portico_controller_leader')).toBe(1);
    expect(promSample(text, 'x', { b: 'q\\"uoted', a: '1' })).toBe(3);
  });
  it('is undefined for a missing name or label value, never a prefix match', () => {
    expect(promSample(text, 'metallb_allocator_addresses_in_use_total', { pool: 'nope' })).toBeUndefined();
    expect(promSample(text, 'metallb_allocator_addresses_in_use', { pool: 'bench' })).toBeUndefined();
    expect(promSample('', 'portico_controller_leader')).toBeUndefined();
  });
});

describe('promSamples / apiserverWrites', () => {
  const text = [
    '# TYPE apiserver_request_total counter',
    'apiserver_request_total{code="201",component="apiserver",resource="services",verb="POST",version="v1"} 300',
    'apiserver_request_total{code="200",component="apiserver",resource="services",subresource="status",verb="APPLY",version="v1"} 300',
    'apiserver_request_total{code="200",component="apiserver",resource="services",subresource="status",verb="PUT",version="v1"} 5',
    'apiserver_request_total{code="200",component="apiserver",resource="services",verb="PATCH",version="v1"} 2',
    'apiserver_request_total{code="200",component="apiserver",resource="leases",verb="DELETE",version="v1"} 1',
    'apiserver_request_total{code="200",component="apiserver",resource="services",verb="LIST",version="v1"} 40',
    'apiserver_request_total{code="200",component="apiserver",resource="services",verb="WATCH",version="v1"} 3',
    'apiserver_request_total_other{verb="POST"} 1000',
  ].join('\n');
  it('lists every sample of a name with its labels', () => {
    const s = promSamples(text, 'apiserver_request_total');
    expect(s).toHaveLength(7);
    expect(s[1]).toEqual({
      labels: {
        code: '200',
        component: 'apiserver',
        resource: 'services',
        subresource: 'status',
        verb: 'APPLY',
        version: 'v1',
      },
      value: 300,
    });
  });
  it('counts POST, PUT, PATCH, APPLY (server-side apply) and DELETE, not reads', () => {
    expect(apiserverWrites(text)).toBe(300 + 300 + 5 + 2 + 1);
    expect(apiserverWrites('')).toBe(0);
  });
});

describe('ratioVs', () => {
  it('is ours / theirs to 3 decimals, null without both', () => {
    expect(ratioVs(1, 4)).toBe(0.25);
    expect(ratioVs(2, 3)).toBe(0.667);
    expect(ratioVs(1, 0)).toBeNull();
    expect(ratioVs(null, 1)).toBeNull();
    expect(ratioVs(1, undefined)).toBeNull();
  });
});

describe('metallbCacheDir', () => {
  it('is keyed by the version under PORTICO_CACHE, else ~/.cache/portico', () => {
    expect(metallbCacheDir('v0.15.2', { PORTICO_CACHE: '/c' }, '/h')).toBe('/c/metallb-v0.15.2');
    expect(metallbCacheDir('v0.15.2', {}, '/h')).toBe('/h/.cache/portico/metallb-v0.15.2');
  });
  it('rejects anything but a release version (it becomes a path)', () => {
    expect(() => metallbCacheDir('../x', {}, '/h')).toThrow(/release version/);
    expect(() => metallbCacheDir('latest', {}, '/h')).toThrow(/release version/);
  });
});

describe('speaker Pod objects', () => {
  it('carry the chart labels, the node, and a Ready status with the node IP as pod IP', () => {
    const pod = speakerPod('metallb-system', 'n2') as {
      metadata: { name: string; labels: Record<string, string> };
      spec: { nodeName: string; hostNetwork: boolean };
    };
    expect(pod.metadata.name).toBe('speaker-n2');
    expect(pod.metadata.labels).toEqual(SPEAKER_LABELS);
    expect(pod.spec).toMatchObject({ nodeName: 'n2', hostNetwork: true });
    const st = speakerPodStatus('203.0.113.12', new Date('2026-01-02T03:04:05.678Z')) as {
      status: Record<string, unknown>;
    };
    expect(st.status).toMatchObject({
      phase: 'Running',
      podIP: '203.0.113.12',
      podIPs: [{ ip: '203.0.113.12' }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T03:04:05Z' }],
    });
  });
});

// The I/O shell's failure path, for real: Go with the module proxy off and an empty module cache
// cannot fetch MetalLB, and says so (instantly, nothing is built).
describe.skipIf(skipUnless({ binaries: ['go'] }))('when MetalLB cannot be fetched', () => {
  const saved = { ...process.env };
  const dirs: string[] = [];
  const offline = () => {
    const d = mkdtempSync(join(tmpdir(), 'portico-metallb-test-'));
    dirs.push(d);
    Object.assign(process.env, {
      PORTICO_CACHE: join(d, 'cache'),
      GOMODCACHE: join(d, 'mod'),
      GOPROXY: 'off',
      GOFLAGS: '-modcacherw',
    });
  };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("ensureMetalLB throws with Go's reason", () => {
    offline();
    expect(() => ensureMetalLB()).toThrow(
      /go mod download go\.universe\.tf\/metallb@v0\.15\.2 failed: .*GOPROXY=off/,
    );
  });
  it('a bench fails under CI=true, and outside CI skips the peer with the reason', () => {
    offline();
    process.env.CI = 'true';
    expect(() => metallbPeer([], () => {})).toThrow(/GOPROXY=off/);
    delete process.env.CI;
    const logged: string[] = [];
    expect(metallbPeer([], (m) => logged.push(m))).toBeUndefined();
    expect(logged.join('\n')).toMatch(/MetalLB peer skipped: .*GOPROXY=off/);
  });
  it('--no-metallb leaves the peer out without touching Go', () => {
    offline();
    process.env.CI = 'true';
    expect(metallbPeer(['--no-metallb'], () => {})).toBeUndefined();
  });
});
