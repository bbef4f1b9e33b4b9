// What a user sees first: the real, pinned kubectl (v1.34, built from the same k8s.io/kubernetes as
// the apiserver) listing Portico objects on the shared control plane. The printer columns are
// evaluated by the apiserver (server-side Table) and laid out by kubectl, so only this pair proves
// the headers, the per-family counts, the JSON rendering of lists and selectors, blank cells for
// absent fields, the short names and the `portico` category.
//
// Status is written directly through the status subresource (no controller or DNS server runs
// here): the subject is the CRD's columns, not who fills them. The status shapes are those of
// controllers/pool-state.ts and dns/sources/status.ts.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crds } from '../../../lib/api/crds/generate.ts';
import type { Schema } from '../../../lib/api/crds/openapi.ts';
import { API_VERSION, PLURALS, type PorticoKind } from '../../../lib/api/group.ts';
import { KubeClient } from '../../../lib/kube/client.ts';
import { cachedKubectl, provisionKubectl } from '../../envtest/provision.ts';
import { sharedKubeConfig, sharedKubeconfigPath } from '../../envtest/shared.ts';
import { parseTables, type Table } from '../../support/kubectl-table.ts';
import { skipUnless } from '../../support/require.ts';

const run = promisify(execFile);

// The pinned kubectl is built with Go on first use (cached afterwards); without Go and without a
// cached build, skip locally and fail under CI.
const haveKubectl = (await cachedKubectl()) !== undefined;
const skip = !haveKubectl && skipUnless({ binaries: ['go'] });

const id = `cols-${process.pid}-${Date.now().toString(36)}`;
const LABEL = `portico.dev/test-run=${id}`;
const names = {
  mixed: `${id}-mixed`,
  v4: `${id}-v4`,
  zone: id,
  lan: `${id}-lan`,
  all: `${id}-all`,
};

describe.skipIf(skip)('kubectl get on Portico resources (real kubectl, real apiserver)', () => {
  let kubectlPath = '';
  let cacheDir = '';
  const client = new KubeClient(sharedKubeConfig());

  const path = (kind: PorticoKind, name: string) => `/apis/${API_VERSION}/${PLURALS[kind]}/${name}`;

  async function create(kind: PorticoKind, name: string, spec: unknown, status?: unknown): Promise<void> {
    await client.request({
      method: 'POST',
      path: `/apis/${API_VERSION}/${PLURALS[kind]}`,
      body: {
        apiVersion: API_VERSION,
        kind,
        metadata: { name, labels: { 'portico.dev/test-run': id } },
        spec,
      },
    });
    if (status !== undefined) {
      await client.request({
        method: 'PATCH',
        path: `${path(kind, name)}/status`,
        contentType: 'application/merge-patch+json',
        body: { status },
      });
    }
  }

  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: now,
  });

  /** kubectl against the shared control plane, with a private discovery cache. */
  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run(
      kubectlPath,
      ['--kubeconfig', sharedKubeconfigPath(), '--cache-dir', cacheDir, ...args],
      { timeout: 60_000 },
    );
    return stdout;
  }

  /** The table whose rows are named `<prefix>…`, as a name → row map. */
  function rowsOf(
    tables: Table[],
    prefix: string,
  ): { headers: string[]; byName: Map<string, Record<string, string>> } {
    const t = tables.find((x) => x.rows.some((r) => r.NAME?.startsWith(prefix)));
    if (!t) throw new Error(`no table with rows named ${prefix}…: ${JSON.stringify(tables)}`);
    return { headers: t.headers, byName: new Map(t.rows.map((r) => [r.NAME!.slice(prefix.length), r])) };
  }

  beforeAll(async () => {
    // First run on a machine builds kubectl from the pinned module (minutes on 2 cores).
    kubectlPath = await provisionKubectl({ log: (m) => console.error(m) });
    cacheDir = await mkdtemp(join(tmpdir(), 'portico-kubectl-cache-'));

    await create(
      'IPAddressPool',
      names.mixed,
      { addresses: ['192.0.2.0/28', '2001:db8:7::/64'] },
      {
        assignedIPv4: '1',
        availableIPv4: '15',
        assignedIPv6: '1',
        availableIPv6: '18446744073709551615',
        conditions: [condition('Ready', 'True', 'Valid', 'pool is usable')],
      },
    );
    // IPv4 only: the controller writes no IPv6 counts, so those cells stay blank.
    await create(
      'IPAddressPool',
      names.v4,
      { addresses: ['198.51.100.10-198.51.100.20'], autoAssign: false, allocation: { priority: 5 } },
      {
        assignedIPv4: '0',
        availableIPv4: '11',
        conditions: [condition('Ready', 'False', 'NotUsable', 'overlaps another pool')],
      },
    );
    await create(
      'DNSZone',
      names.zone,
      { zone: `${id}.k8s.test`, ttl: 120 },
      {
        records: 3,
        serial: 2026010101,
        conditions: [condition('Ready', 'True', 'Serving', 'serving 3 records, serial 2026010101')],
      },
    );
    await create('L2Advertisement', names.lan, {
      ipAddressPools: [names.mixed],
      nodeSelector: { matchLabels: { 'portico.dev/announce': 'true' } },
      interfaces: ['eth0'],
    });
    await create('L2Advertisement', names.all, {});
  }, 900_000);

  afterAll(async () => {
    const gone: Array<[PorticoKind, string]> = [
      ['IPAddressPool', names.mixed],
      ['IPAddressPool', names.v4],
      ['DNSZone', names.zone],
      ['L2Advertisement', names.lan],
      ['L2Advertisement', names.all],
    ];
    for (const [kind, name] of gone) {
      await client.request({ method: 'DELETE', path: path(kind, name) }).catch(() => {});
    }
    await client.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const POOL_HEADERS = [
    'NAME',
    'ADDRESSES',
    'ASSIGNED V4',
    'AVAILABLE V4',
    'ASSIGNED V6',
    'AVAILABLE V6',
    'READY',
    'AGE',
  ];
  const ZONE_HEADERS = ['NAME', 'ZONE', 'RECORDS', 'SERIAL', 'READY', 'AGE'];
  const L2_HEADERS = ['NAME', 'POOLS', 'POOL SELECTOR', 'NODES', 'INTERFACES', 'AGE'];
  const AGE = /^\d+[smhd]/;

  /** The three tables of a multi-type `kubectl get`, rows keyed by the name without the kind prefix. */
  function checkAll(out: string): void {
    const tables = parseTables(out);
    expect(tables, out).toHaveLength(3);

    const pools = rowsOf(tables, 'ipaddresspool.portico.dev/');
    expect(pools.headers).toEqual(POOL_HEADERS);
    expect([...pools.byName.keys()].sort()).toEqual([names.mixed, names.v4].sort());
    const mixed = pools.byName.get(names.mixed)!;
    expect(mixed).toMatchObject({
      ADDRESSES: '["192.0.2.0/28","2001:db8:7::/64"]',
      'ASSIGNED V4': '1',
      'AVAILABLE V4': '15',
      'ASSIGNED V6': '1',
      'AVAILABLE V6': '18446744073709551615',
      READY: 'True',
    });
    expect(mixed.AGE).toMatch(AGE);
    expect(pools.byName.get(names.v4)).toMatchObject({
      ADDRESSES: '["198.51.100.10-198.51.100.20"]',
      'ASSIGNED V4': '0',
      'AVAILABLE V4': '11',
      'ASSIGNED V6': '',
      'AVAILABLE V6': '',
      READY: 'False',
    });

    const zones = rowsOf(tables, 'dnszone.portico.dev/');
    expect(zones.headers).toEqual(ZONE_HEADERS);
    expect([...zones.byName.keys()]).toEqual([names.zone]);
    expect(zones.byName.get(names.zone)).toMatchObject({
      ZONE: `${id}.k8s.test`,
      RECORDS: '3',
      SERIAL: '2026010101',
      READY: 'True',
    });

    const ads = rowsOf(tables, 'l2advertisement.portico.dev/');
    expect(ads.headers).toEqual(L2_HEADERS);
    expect([...ads.byName.keys()].sort()).toEqual([names.all, names.lan].sort());
    expect(ads.byName.get(names.lan)).toMatchObject({
      POOLS: `["${names.mixed}"]`,
      'POOL SELECTOR': '',
      NODES: '{"matchLabels":{"portico.dev/announce":"true"}}',
      INTERFACES: '["eth0"]',
    });
    // An empty spec: every pool, every node, the interface whose subnet holds the VIP.
    expect(ads.byName.get(names.all)).toMatchObject({
      POOLS: '',
      'POOL SELECTOR': '',
      NODES: '',
      INTERFACES: '',
    });
  }

  it('kubectl get ipaddresspools,dnszones,l2advertisements prints the columns and their values', async () => {
    checkAll(await kubectl('get', 'ipaddresspools,dnszones,l2advertisements', '-l', LABEL));
  });

  it('the short names ipp, dnsz and l2adv and the category portico list the same', async () => {
    checkAll(await kubectl('get', 'ipp,dnsz,l2adv', '-l', LABEL));
    checkAll(await kubectl('get', 'portico', '-l', LABEL));
  });

  it('one type by short name: plain names; -o wide adds auto-assign/priority and TTL', async () => {
    const [pools] = parseTables(await kubectl('get', 'ipp', '-l', LABEL));
    expect(pools?.headers).toEqual(POOL_HEADERS);
    expect(pools?.rows.map((r) => r.NAME).sort()).toEqual([names.mixed, names.v4].sort());

    const [wide] = parseTables(await kubectl('get', 'ipp', '-l', LABEL, '-o', 'wide'));
    expect(wide?.headers).toEqual([...POOL_HEADERS.slice(0, -1), 'AUTO ASSIGN', 'PRIORITY', 'AGE']);
    const byName = new Map(wide?.rows.map((r) => [r.NAME, r]));
    // autoAssign was defaulted to true by the schema; priority is unset on the mixed pool.
    expect(byName.get(names.mixed)).toMatchObject({ 'AUTO ASSIGN': 'true', PRIORITY: '' });
    expect(byName.get(names.v4)).toMatchObject({ 'AUTO ASSIGN': 'false', PRIORITY: '5' });

    const [zones] = parseTables(await kubectl('get', 'dnsz', '-l', LABEL, '-o', 'wide'));
    expect(zones?.headers).toEqual([...ZONE_HEADERS.slice(0, -1), 'TTL', 'AGE']);
    expect(zones?.rows[0]).toMatchObject({ NAME: names.zone, TTL: '120' });
  });

  it('BGP: kubectl get bgpss shows node, peer, state, prefixes, since; bgpp and bgpadv their columns', async () => {
    const bgpId = `${id}-bgp`;
    const made: Array<[PorticoKind, string]> = [];
    const make = async (kind: PorticoKind, name: string, spec: unknown, status?: unknown) => {
      await client.request({
        method: 'POST',
        path: `/apis/${API_VERSION}/${PLURALS[kind]}`,
        body: {
          apiVersion: API_VERSION,
          kind,
          metadata: { name, labels: { 'portico.dev/test-run': bgpId } },
          spec,
        },
      });
      made.push([kind, name]);
      if (status !== undefined) {
        await client.request({
          method: 'PATCH',
          path: `${path(kind, name)}/status`,
          contentType: 'application/merge-patch+json',
          body: { status },
        });
      }
    };
    const label = `portico.dev/test-run=${bgpId}`;
    try {
      await make('BGPPeer', `${bgpId}-tor`, {
        myASN: 64512,
        peerASN: 64500,
        peerAddress: '192.0.2.1',
        holdTime: '9s',
      });
      await make('BGPPeer', `${bgpId}-dyn`, {
        myASN: 64512,
        dynamicASN: 'external',
        peerAddress: '2001:db8::1',
      });
      await make('BGPAdvertisement', `${bgpId}-lan`, {
        ipAddressPools: ['lan'],
        peers: [`${bgpId}-tor`],
        localPref: 200,
        communities: ['no-export'],
      });
      await make(
        'BGPSessionState',
        `n1-${bgpId}-tor`,
        {},
        {
          node: 'n1',
          peer: `${bgpId}-tor`,
          peerAddress: '192.0.2.1',
          state: 'Established',
          establishedSince: now,
          lastTransition: now,
          prefixesSent: 12,
        },
      );
      await make(
        'BGPSessionState',
        `n2-${bgpId}-tor`,
        {},
        {
          node: 'n2',
          peer: `${bgpId}-tor`,
          peerAddress: '192.0.2.1',
          state: 'Active',
          lastError: 'connect: connection refused',
          lastTransition: now,
          prefixesSent: 0,
        },
      );

      const [states] = parseTables(await kubectl('get', 'bgpsessionstates', '-l', label));
      expect(states?.headers).toEqual(['NAME', 'NODE', 'PEER', 'STATE', 'PREFIXES', 'SINCE', 'AGE']);
      const byName = new Map(states?.rows.map((r) => [r.NAME, r]));
      expect(byName.get(`n1-${bgpId}-tor`)).toMatchObject({
        NODE: 'n1',
        STATE: 'Established',
        PREFIXES: '12',
      });
      expect(byName.get(`n1-${bgpId}-tor`)?.SINCE).toMatch(AGE);
      expect(byName.get(`n2-${bgpId}-tor`)).toMatchObject({
        NODE: 'n2',
        STATE: 'Active',
        PREFIXES: '0',
        SINCE: '',
      });
      const [wide] = parseTables(await kubectl('get', 'bgpss', '-l', label, '-o', 'wide'));
      expect(wide?.headers).toEqual([
        'NAME',
        'NODE',
        'PEER',
        'ADDRESS',
        'STATE',
        'PREFIXES',
        'SINCE',
        'LAST ERROR',
        'AGE',
      ]);
      expect(new Map(wide?.rows.map((r) => [r.NAME, r])).get(`n2-${bgpId}-tor`)).toMatchObject({
        ADDRESS: '192.0.2.1',
        'LAST ERROR': 'connect: connection refused',
      });

      const tables = parseTables(await kubectl('get', 'bgpp,bgpadv', '-l', label));
      const peers = rowsOf(tables, 'bgppeer.portico.dev/');
      expect(peers.headers).toEqual(['NAME', 'ADDRESS', 'MY ASN', 'PEER ASN', 'DYNAMIC ASN', 'AGE']);
      expect(peers.byName.get(`${bgpId}-tor`)).toMatchObject({
        ADDRESS: '192.0.2.1',
        'MY ASN': '64512',
        'PEER ASN': '64500',
        'DYNAMIC ASN': '',
      });
      expect(peers.byName.get(`${bgpId}-dyn`)).toMatchObject({ 'PEER ASN': '', 'DYNAMIC ASN': 'external' });
      const ads = rowsOf(tables, 'bgpadvertisement.portico.dev/');
      expect(ads.headers).toEqual(['NAME', 'POOLS', 'PEERS', 'AGGREGATION', 'LOCAL PREF', 'AGE']);
      expect(ads.byName.get(`${bgpId}-lan`)).toMatchObject({
        POOLS: '["lan"]',
        PEERS: `["${bgpId}-tor"]`,
        AGGREGATION: '32',
        'LOCAL PREF': '200',
      });
    } finally {
      for (const [kind, name] of made) {
        await client.request({ method: 'DELETE', path: path(kind, name) }).catch(() => {});
      }
    }
  });

  it('kubectl explain shows the field descriptions (through the short names)', async () => {
    const flat = (s: string) => s.replace(/\s+/g, ' ');
    const addresses = flat(await kubectl('explain', 'ipp.spec.addresses'));
    expect(addresses).toContain('CIDRs and ranges in this pool. IPv4 and IPv6 may be mixed');
    const refresh = flat(await kubectl('explain', 'dnsz.spec.soa.refresh'));
    expect(refresh).toContain('Seconds a secondary waits before checking the serial again (SOA REFRESH).');
    const nodes = flat(await kubectl('explain', 'l2adv.spec.nodeSelector'));
    expect(nodes).toContain('Nodes allowed to announce; absent = every node running a speaker.');
  });

  it('kubectl explain of every object in every schema lists no field without a description', async () => {
    // kubectl prints "<no description>" for an undocumented field in the FIELDS list of its parent.
    const undocumented: string[] = [];
    for (const crd of crds()) {
      const short = crd.spec.names.shortNames[0]!;
      for (const field of objectPaths(crd.spec.versions[0]!.schema.openAPIV3Schema)) {
        const target = [short, ...field].join('.');
        if ((await kubectl('explain', target)).includes('<no description>')) undocumented.push(target);
      }
    }
    expect(undocumented).toEqual([]);
  });
});

/** Dotted explain paths of every object with properties (array items are transparent to explain). */
function objectPaths(s: Schema, at: string[] = []): string[][] {
  const out: string[][] = [];
  const node = s.type === 'array' && s.items ? s.items : s;
  if (!node.properties) return out;
  out.push(at);
  for (const [k, p] of Object.entries(node.properties)) {
    if (at.length === 0 && k === 'metadata') continue; // ObjectMeta: Kubernetes' own documentation
    out.push(...objectPaths(p, [...at, k]));
  }
  return out;
}
