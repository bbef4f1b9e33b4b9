import { type RequestOptions, request } from 'node:https';
import { ApiextensionsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crds, renderCrds } from '../../../lib/api/crds/generate.ts';
import { crdName, GROUP, KINDS, PLURALS, type PorticoKind, VERSION } from '../../../lib/api/group.ts';
import type { DNSZone, IPAddressPool } from '../../../lib/api/types.ts';
import { sharedKubeConfig } from '../../envtest/shared.ts';

/**
 * The generated CRDs on a real kube-apiserver (1.34): what admission accepts, what it rejects and
 * with which message, and which defaults it applies. Most calls use dryRun=All, so the shared
 * cluster stays clean and the tests do not depend on each other.
 */

let kc: KubeConfig;
let custom: CustomObjectsApi;
let crdApi: ApiextensionsV1Api;
const created: Array<{ plural: string; name: string }> = [];

beforeAll(() => {
  kc = sharedKubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  crdApi = kc.makeApiClient(ApiextensionsV1Api);
});

afterAll(async () => {
  for (const { plural, name } of created) {
    await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural, name }).catch(() => {});
  }
});

/**
 * GET a path as raw JSON. client-node's typed models rename schema keys (`default` → `_default`,
 * `x-kubernetes-validations` → `xKubernetesValidations`), so comparing schemas needs the raw body.
 */
async function getRaw(path: string): Promise<unknown> {
  const url = new URL(path, kc.getCurrentCluster()?.server);
  const opts: RequestOptions = {
    method: 'GET',
    headers: { accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let seq = 0;
function uniqueName(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

function object(
  kind: PorticoKind,
  spec: unknown,
): { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown } {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind,
    metadata: { name: uniqueName(kind.toLowerCase()) },
    spec,
  };
}

async function create(kind: PorticoKind, spec: unknown, dryRun = true): Promise<Record<string, unknown>> {
  const body = object(kind, spec);
  const res = (await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    body,
    ...(dryRun ? { dryRun: 'All' } : {}),
  })) as Record<string, unknown>;
  if (!dryRun) created.push({ plural: PLURALS[kind], name: body.metadata.name });
  return res;
}

/** The apiserver's Status.message for a rejected create; fails the test when the create succeeds. */
async function rejection(kind: PorticoKind, spec: unknown): Promise<string> {
  try {
    await create(kind, spec);
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    expect(e.code, `expected HTTP 422, got ${String(err)}`).toBe(422);
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return String((body as { message?: unknown }).message);
  }
  throw new Error(`${kind} ${JSON.stringify(spec)} was accepted; expected a rejection`);
}

const pool = (addresses: unknown) => ({ addresses });

describe('CRD installation', () => {
  it('every generated CRD is installed, Established, and carries the generated schema', async () => {
    const files = renderCrds();
    expect(files.size).toBe(crds().length);
    for (const kind of Object.values(KINDS)) {
      const crd = await crdApi.readCustomResourceDefinition({ name: crdName(kind) });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      expect(established?.status).toBe('True');
      expect(crd.spec.scope).toBe('Cluster');
      const version = crd.spec.versions.find((v) => v.name === VERSION);
      expect(version?.subresources?.status).toBeDefined();
      expect(files.has(`${crdName(kind)}.yaml`)).toBe(true);
    }
  });

  it('the installed schemas are exactly the generated ones (defaults and list types included)', async () => {
    for (const crd of crds()) {
      const installed = (await getRaw(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      )) as {
        spec: { versions: Array<{ name: string; schema: unknown; additionalPrinterColumns: unknown }> };
      };
      const want = JSON.parse(JSON.stringify(crd.spec.versions[0]));
      const got = installed.spec.versions.find((v) => v.name === VERSION);
      // A mismatch here means whatever installed the CRDs altered them (e.g. a typed client that
      // drops `default` and `x-kubernetes-*` keys), and every test below would test the wrong thing.
      expect(got?.schema, `${crd.metadata.name} schema as installed`).toEqual(want.schema);
      expect(got?.additionalPrinterColumns).toEqual(want.additionalPrinterColumns);
    }
  });
});

describe('IPAddressPool accepts valid address lists', () => {
  it.each([
    ['an IPv4 CIDR', ['192.0.2.0/24']],
    ['an IPv6 CIDR', ['2001:db8::/64']],
    ['a host route', ['192.0.2.7/32', '2001:db8::7/128']],
    ['bare addresses (read as /32 and /128)', ['192.0.2.7', '2001:db8::7']],
    ['an IPv4 range', ['192.0.2.10-192.0.2.20']],
    ['a range with spaces around the dash', ['192.0.2.10 - 192.0.2.20']],
    ['a one-address range', ['198.51.100.5-198.51.100.5']],
    ['an IPv6 range in mixed case and spellings', ['2001:DB8::1-2001:db8:0:0::0:FF']],
    ['an IPv6 range across a group boundary', ['2001:db8::ffff-2001:db8::1:0']],
    ['an IPv6 range with dotted-quad ends', ['::192.0.2.1-::192.0.2.9']],
    [
      'mixed families and forms',
      ['192.0.2.0/25', '198.51.100.1-198.51.100.9', '2001:db8:1::/64', '2001:db8:2::1-2001:db8:2::9'],
    ],
    ['the whole IPv4 space', ['0.0.0.0/0', '0.0.0.0-255.255.255.255']],
    ['the whole IPv6 space', ['::/0', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ])('%s', async (_name, addresses) => {
    const res = await create(KINDS.IPAddressPool, pool(addresses));
    expect((res.spec as { addresses: string[] }).addresses).toEqual(addresses);
  });
});

describe('IPAddressPool rejects malformed addresses with a readable message', () => {
  it.each([
    [
      'a garbage string',
      'garbage',
      /'garbage' is neither a CIDR \(192\.0\.2\.0\/24, 2001:db8::\/64\), an address, nor a range/,
    ],
    [
      'a reversed IPv4 range',
      '192.0.2.20-192.0.2.10',
      /range '192\.0\.2\.20-192\.0\.2\.10' is reversed: its first address 192\.0\.2\.20 comes after its last address 192\.0\.2\.10/,
    ],
    ['a reversed IPv4 range across the top bit', '128.0.0.0-127.255.255.255', /is reversed/],
    ['a reversed IPv6 range', '2001:db8::ff-2001:db8::1', /range '2001:db8::ff-2001:db8::1' is reversed/],
    ['a reversed IPv6 range differing in a middle group', '2001:db8:0:1::-2001:db8::ffff', /is reversed/],
    ['a reversed IPv6 range differing in the last bit', '2001:db8::1-2001:db8::', /is reversed/],
    ['a mixed-family range', '192.0.2.1-2001:db8::1', /range '192\.0\.2\.1-2001:db8::1' mixes IPv4 and IPv6/],
    [
      'an IPv4 prefix length over 32',
      '192.0.2.0/33',
      /'192\.0\.2\.0\/33' has an invalid prefix length: IPv4 allows \/0 to \/32/,
    ],
    ['an IPv6 prefix length over 128', '2001:db8::/129', /has an invalid prefix length/],
    ['a non-numeric prefix length', '192.0.2.0/abc', /has an invalid prefix length/],
    [
      'host bits after the prefix',
      '192.0.2.1/24',
      /'192\.0\.2\.1\/24' has host bits set after the \/24 prefix/,
    ],
    [
      'a bad address before the slash',
      '192.0.2.300/24',
      /the part before '\/' must be an IPv4 or IPv6 address/,
    ],
    ['a bad bare address', '192.0.2.256', /'192\.0\.2\.256' is neither a CIDR/],
    ['an IPv6 zone', 'fe80::1%eth0', /'fe80::1%eth0' is neither a CIDR/],
    [
      'a bad range end',
      '192.0.2.1-192.0.2',
      /'192\.0\.2\.1-192\.0\.2' is not a valid range: '192\.0\.2' is not an IP address/,
    ],
    ['a range with two dashes', '192.0.2.1-192.0.2.5-192.0.2.9', /write first-last with exactly one '-'/],
  ])('%s', async (_name, address, message) => {
    expect(await rejection(KINDS.IPAddressPool, pool([address]))).toMatch(message);
  });

  it('an empty address list', async () => {
    expect(await rejection(KINDS.IPAddressPool, pool([]))).toMatch(
      /addresses must list at least one CIDR or range/,
    );
  });

  it('a missing address list', async () => {
    expect(await rejection(KINDS.IPAddressPool, {})).toMatch(/spec\.addresses: Required value/);
  });

  it('a duplicate entry', async () => {
    expect(await rejection(KINDS.IPAddressPool, pool(['192.0.2.0/24', '192.0.2.0/24']))).toMatch(
      /Duplicate value/,
    );
  });

  it('names the offending index when several entries are bad', async () => {
    const msg = await rejection(
      KINDS.IPAddressPool,
      pool(['192.0.2.0/24', 'nope', '2001:db8::9-2001:db8::1']),
    );
    expect(msg).toMatch(/spec\.addresses\[1\].*'nope'/);
    expect(msg).toMatch(/spec\.addresses\[2\].*is reversed/);
    expect(msg).not.toMatch(/spec\.addresses\[0\]/);
  });

  it('bad allocation rules', async () => {
    const msg = await rejection(KINDS.IPAddressPool, {
      addresses: ['192.0.2.0/24'],
      allocation: {
        priority: -1,
        namespaces: ['Not_A_Namespace'],
        serviceSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] },
      },
    });
    expect(msg).toMatch(/priority.*should be greater than or equal to 0/);
    expect(msg).toMatch(/'Not_A_Namespace' is not a valid namespace name/);
    expect(msg).toMatch(/operator In needs at least one value/);
  });
});

describe('IPAddressPool defaults and status', () => {
  it('defaults autoAssign to true and avoidBuggyIPs to false, and keeps explicit values', async () => {
    const res = (await create(
      KINDS.IPAddressPool,
      pool(['192.0.2.0/24']),
      false,
    )) as unknown as IPAddressPool;
    expect(res.spec.autoAssign).toBe(true);
    expect(res.spec.avoidBuggyIPs).toBe(false);
    const explicit = (await create(KINDS.IPAddressPool, {
      ...pool(['192.0.2.0/24']),
      autoAssign: false,
    })) as unknown as IPAddressPool;
    expect(explicit.spec.autoAssign).toBe(false);
  });

  it('status is a subresource: counts as exact decimal strings, garbage rejected', async () => {
    const res = (await create(
      KINDS.IPAddressPool,
      pool(['2001:db8::/64']),
      false,
    )) as unknown as IPAddressPool;
    const name = res.metadata.name!;
    const base = { group: GROUP, version: VERSION, plural: PLURALS.IPAddressPool, name };
    const status = {
      assignedIPv6: '1',
      availableIPv6: '18446744073709551615',
      assignedIPv4: '0',
      availableIPv4: '0',
    };
    const patched = (await custom.patchClusterCustomObjectStatus({
      ...base,
      body: [{ op: 'add', path: '/status', value: status }],
    })) as unknown as IPAddressPool;
    expect(patched.status?.availableIPv6).toBe('18446744073709551615');
    // Writing status through the main resource is ignored (status subresource enabled).
    const got = (await custom.getClusterCustomObject(base)) as unknown as IPAddressPool;
    got.status = { ...got.status, assignedIPv6: '999' };
    const replaced = (await custom.replaceClusterCustomObject({
      ...base,
      body: got,
    })) as unknown as IPAddressPool;
    expect(replaced.status?.assignedIPv6).toBe('1');
    await expect(
      custom.patchClusterCustomObjectStatus({
        ...base,
        body: [{ op: 'replace', path: '/status/assignedIPv6', value: '-1' }],
      }),
    ).rejects.toMatchObject({ code: 422 });
  });
});

describe('L2Advertisement', () => {
  it('accepts an empty spec and a full one', async () => {
    await create(KINDS.L2Advertisement, {});
    await create(KINDS.L2Advertisement, {
      ipAddressPools: ['pool-a'],
      ipAddressPoolSelector: { matchLabels: { tier: 'edge' } },
      nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists' }] },
      interfaces: ['eth0', 'bond0.100'],
    });
  });

  it('rejects bad interface names, pool names and selector requirements', async () => {
    const msg = await rejection(KINDS.L2Advertisement, {
      interfaces: ['eth0', 'averyveryverylongname0', 'br/0'],
      ipAddressPools: ['Bad_Name'],
      nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] },
    });
    expect(msg).toMatch(/'averyveryverylongname0' is not a valid interface name: 1 to 15 characters/);
    expect(msg).toMatch(/'br\/0' is not a valid interface name/);
    expect(msg).toMatch(/'Bad_Name' is not a valid object name/);
    expect(msg).toMatch(/operator Exists takes no values/);
    expect(msg).not.toMatch(/interfaces\[0\]/);
  });

  it('rejects an unknown selector operator', async () => {
    const msg = await rejection(KINDS.L2Advertisement, {
      nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'Near', values: ['a'] }] },
    });
    expect(msg).toMatch(/Unsupported value: "Near"/);
  });
});

describe('DNSZone', () => {
  it('applies defaults: ttl, SOA timers, both sources enabled', async () => {
    const res = (await create(KINDS.DNSZone, { zone: 'k8s.home.arpa' })) as unknown as DNSZone;
    expect(res.spec.ttl).toBe(300);
    expect(res.spec.soa).toEqual({ refresh: 3600, retry: 600, expire: 86400, minimum: 30 });
    expect(res.spec.sources?.gateways?.enabled).toBe(true);
    expect(res.spec.sources?.services?.enabled).toBe(true);
  });

  it('accepts valid static records, including wildcards, the apex and a reverse zone', async () => {
    await create(KINDS.DNSZone, {
      zone: 'k8s.home.arpa',
      records: [
        { name: '@', type: 'TXT', values: ['v=spf1 -all'] },
        { name: 'www', type: 'A', values: ['192.0.2.1', '192.0.2.2'] },
        { name: 'www', type: 'AAAA', values: ['2001:db8::1'] },
        { name: '*.apps', type: 'A', values: ['192.0.2.3'] },
        { name: 'docs', type: 'CNAME', values: ['www.k8s.home.arpa.'] },
        { name: '_acme-challenge', type: 'TXT', values: ['token'], ttl: 60 },
      ],
      soa: { mname: 'ns1.k8s.home.arpa', rname: 'hostmaster.example.org' },
      nameServers: ['ns1.k8s.home.arpa', 'ns2.k8s.home.arpa'],
    });
    await create(KINDS.DNSZone, {
      zone: '2.0.192.in-addr.arpa',
      records: [{ name: '1', type: 'PTR', values: ['www.k8s.home.arpa.'] }],
    });
  });

  it.each([
    ['uppercase with a trailing dot', 'K8s.home.arpa.'],
    ['a leading hyphen', '-bad.arpa'],
    ['an empty label', 'k8s..arpa'],
    ['a label over 63 characters', `${'a'.repeat(64)}.arpa`],
  ])('rejects a zone name with %s', async (_name, zone) => {
    expect(await rejection(KINDS.DNSZone, { zone })).toMatch(/is not a valid zone name/);
  });

  it('rejects record values that do not fit the record type', async () => {
    const msg = await rejection(KINDS.DNSZone, {
      zone: 'k8s.home.arpa',
      records: [
        { name: 'v4', type: 'A', values: ['192.0.2.1', '2001:db8::1'] },
        { name: 'v6', type: 'AAAA', values: ['192.0.2.1'] },
        { name: 'alias', type: 'CNAME', values: ['a.example.org', 'b.example.org'] },
        { name: '@', type: 'CNAME', values: ['a.example.org'] },
        { name: 'ptr', type: 'PTR', values: ['not a host'] },
        { name: 'txt', type: 'TXT', values: ['é'.repeat(200)] },
        { name: 'empty', type: 'TXT', values: [] },
        { name: 'Bad.', type: 'TXT', values: ['x'] },
      ],
    });
    expect(msg).toMatch(/record 'v4' \(A\): every value must be an IPv4 address/);
    expect(msg).toMatch(/record 'v6' \(AAAA\): every value must be an IPv6 address/);
    expect(msg).toMatch(/record 'alias' \(CNAME\): a CNAME has exactly one target/);
    expect(msg).toMatch(/a CNAME cannot be at the zone apex/);
    expect(msg).toMatch(/record 'ptr' \(PTR\): every value must be a host name/);
    expect(msg).toMatch(/record 'txt' \(TXT\): each TXT string is at most 255 bytes/);
    expect(msg).toMatch(/record 'empty' \(TXT\) needs at least one value/);
    expect(msg).toMatch(/'Bad\.' is not a valid record name/);
  });

  it('accepts absolute record names inside the zone, rejects ones outside and zone-suffixed relative names', async () => {
    await create(KINDS.DNSZone, {
      zone: 'k8s.home.arpa',
      records: [
        { name: 'k8s.home.arpa.', type: 'TXT', values: ['apex'] },
        { name: 'www.k8s.home.arpa.', type: 'A', values: ['192.0.2.1'] },
      ],
    });
    expect(
      await rejection(KINDS.DNSZone, {
        zone: 'k8s.home.arpa',
        records: [{ name: 'www.example.org.', type: 'A', values: ['192.0.2.1'] }],
      }),
    ).toMatch(/absolute record names \(ending in '\.'\) must lie inside the zone k8s\.home\.arpa/);
    expect(
      await rejection(KINDS.DNSZone, {
        zone: 'k8s.home.arpa',
        records: [{ name: 'www.k8s.home.arpa', type: 'A', values: ['192.0.2.1'] }],
      }),
    ).toMatch(/write 'www' or 'www\.k8s\.home\.arpa\.', not 'www\.k8s\.home\.arpa'/);
  });

  it('rejects an unknown record type and duplicate (name, type) entries', async () => {
    expect(
      await rejection(KINDS.DNSZone, {
        zone: 'k8s.home.arpa',
        records: [{ name: 'm', type: 'MX', values: ['x'] }],
      }),
    ).toMatch(/Unsupported value: "MX"/);
    const dup = await rejection(KINDS.DNSZone, {
      zone: 'k8s.home.arpa',
      records: [
        { name: 'www', type: 'A', values: ['192.0.2.1'] },
        { name: 'www', type: 'A', values: ['192.0.2.2'] },
      ],
    });
    expect(dup).toMatch(/Duplicate value/);
  });

  it('rejects bad SOA fields', async () => {
    const msg = await rejection(KINDS.DNSZone, {
      zone: 'k8s.home.arpa',
      soa: { mname: 'bad name', retry: 0 },
    });
    expect(msg).toMatch(/'bad name' is not a valid host name/);
    expect(msg).toMatch(/retry.*should be greater than or equal to 1/);
  });
});
