import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CustomResourceDefinition } from '../../../lib/api/crds/crd.ts';
import { CRD_DIR, crds, renderCrds, repoRoot } from '../../../lib/api/crds/generate.ts';
import type { Schema } from '../../../lib/api/crds/openapi.ts';
import { API_VERSION, crdName, GROUP, KINDS, PLURALS, SHORT_NAMES, VERSION } from '../../../lib/api/group.ts';
import {
  type BGPAdvertisement,
  type BGPPeer,
  type BGPSessionState,
  DEFAULTS,
  type DNSZone,
  type IPAddressPool,
  type L2Advertisement,
} from '../../../lib/api/types.ts';

const dir = join(repoRoot(), CRD_DIR);

describe('committed CRDs', () => {
  it('are exactly what the generator renders (run `npm run crds` after changing lib/api/crds)', () => {
    const want = renderCrds();
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...want.keys()].sort());
    for (const [name, text] of want) {
      expect(readFileSync(join(dir, name), 'utf8'), `${CRD_DIR}/${name} is stale`).toBe(text);
    }
  });

  it('parse back to the generator objects', () => {
    const files = renderCrds();
    for (const crd of crds()) {
      expect(parse(files.get(`${crd.metadata.name}.yaml`)!)).toEqual(JSON.parse(JSON.stringify(crd)));
    }
  });
});

describe('CRD metadata', () => {
  it.each(Object.values(KINDS))('%s: group, version, names, scope, status subresource', (kind) => {
    const crd = crds().find((c) => c.spec.names.kind === kind)!;
    expect(crd.metadata.name).toBe(crdName(kind));
    expect(crd.metadata.name).toBe(`${PLURALS[kind]}.portico.dev`);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names.shortNames).toEqual([...SHORT_NAMES[kind]]);
    expect(crd.spec.names.categories).toEqual(['portico']);
    expect(crd.spec.versions).toHaveLength(1);
    const v = crd.spec.versions[0]!;
    expect(v).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
    expect(v.additionalPrinterColumns.at(-1)).toEqual({
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
    });
  });

  const columns = (kind: string, wide = false) =>
    crds()
      .find((c) => c.spec.names.kind === kind)!
      .spec.versions[0]!.additionalPrinterColumns.filter((c) => wide || !c.priority)
      .map((c) => c.name);

  it('IPAddressPool columns answer "is it usable, how much is left", per family', () => {
    expect(columns('IPAddressPool')).toEqual([
      'Addresses',
      'Assigned v4',
      'Available v4',
      'Assigned v6',
      'Available v6',
      'Ready',
      'Age',
    ]);
    expect(columns('IPAddressPool', true)).toEqual([
      ...columns('IPAddressPool').slice(0, -1),
      'Auto Assign',
      'Priority',
      'Age',
    ]);
  });

  it('L2Advertisement columns show which pools, which nodes, which interfaces', () => {
    expect(columns('L2Advertisement')).toEqual(['Pools', 'Pool Selector', 'Nodes', 'Interfaces', 'Age']);
  });

  it('BGP columns: where the router is; what is advertised; per node and peer, the session state', () => {
    expect(columns('BGPPeer')).toEqual(['Address', 'My ASN', 'Peer ASN', 'Dynamic ASN', 'Age']);
    expect(columns('BGPPeer', true)).toEqual([
      'Address',
      'My ASN',
      'Peer ASN',
      'Dynamic ASN',
      'Port',
      'Hold',
      'Nodes',
      'Age',
    ]);
    expect(columns('BGPAdvertisement')).toEqual(['Pools', 'Peers', 'Aggregation', 'Local Pref', 'Age']);
    expect(columns('BGPSessionState')).toEqual(['Node', 'Peer', 'State', 'Prefixes', 'Since', 'Age']);
    expect(columns('BGPSessionState', true)).toEqual([
      'Node',
      'Peer',
      'Address',
      'State',
      'Prefixes',
      'Since',
      'Last Error',
      'Age',
    ]);
  });

  it('DNSZone columns show the zone, what is served and readiness', () => {
    expect(columns('DNSZone')).toEqual(['Zone', 'Records', 'Serial', 'Ready', 'Age']);
    expect(columns('DNSZone', true)).toEqual(['Zone', 'Records', 'Serial', 'Ready', 'TTL', 'Age']);
  });

  it.each(crds().map((c) => [c.spec.names.kind, c] as const))(
    '%s: every column path names a schema field of the column type',
    (_kind, crd) => {
      const v = crd.spec.versions[0]!;
      for (const col of v.additionalPrinterColumns) {
        if (col.jsonPath.startsWith('.metadata.')) continue;
        const field = schemaAt(v.schema.openAPIV3Schema, col.jsonPath);
        expect(field, `${col.name}: ${col.jsonPath}`).toBeDefined();
        // string columns print any value (arrays and selectors as compact JSON); typed ones must match.
        // A date column reads an RFC 3339 string field.
        if (col.type === 'date')
          expect(field, `${col.name}: ${col.jsonPath}`).toMatchObject({
            type: 'string',
            format: 'date-time',
          });
        else if (col.type !== 'string') expect(field?.type, `${col.name}: ${col.jsonPath}`).toBe(col.type);
      }
    },
  );
});

/**
 * The schema node a printer-column JSONPath reads: `.a.b` steps into properties, a filter
 * `[?(...)]` steps into array items (`.status.conditions[?(@.type=="Ready")].status`).
 */
function schemaAt(root: Schema, jsonPath: string): Schema | undefined {
  let s: Schema | undefined = root;
  for (const step of jsonPath.match(/\.[A-Za-z0-9_]+|\[\?\([^\]]*\)\]/g) ?? []) {
    if (!s) return undefined;
    s = step.startsWith('[') ? s.items : s.properties?.[step.slice(1)];
  }
  return s;
}

describe('short names', () => {
  // kubectl resolves short names across every API group: a plural or singular anywhere wins over
  // a short name (ours would be dead), and two equal short names are ambiguous (kubectl warns and
  // picks one by group priority). Kubernetes 1.34 built-in short names (ShortNames() of the
  // registries in k8s.io/kubernetes):
  const builtin = (
    'cm crd crds cs csr cj deploy ds ep ev hpa ing ip limits netpol no ns pc pdb po pv pvc quota rc rs ' +
    'sa sc sts svc vac'
  ).split(' ');
  // Names of the resources Portico sits next to or replaces (plurals, singulars, short names):
  // MetalLB (no short names, but plurals equal to ours), Cilium LB IPAM, Calico IPAM, ExternalDNS,
  // Gateway API.
  const peers = (
    'ipaddresspool ipaddresspools l2advertisement l2advertisements bgpadvertisement ippool ippools ' +
    'lbippool lbippools ciliumloadbalancerippool ciliuml2announcementpolicy ipamblock ipamblocks ' +
    'ipreservation dnsendpoint dnsendpoints gtw gc'
  ).split(' ');

  it.each(Object.values(KINDS))('%s: short and unique', (kind) => {
    for (const short of SHORT_NAMES[kind]) {
      expect(short).toMatch(/^[a-z][a-z0-9]{1,6}$/);
      expect(builtin, short).not.toContain(short);
      expect(peers, short).not.toContain(short);
    }
  });

  it('no two Portico resources share a name', () => {
    const names = Object.values(KINDS).flatMap((k) => [PLURALS[k], ...SHORT_NAMES[k]]);
    expect(new Set(names).size).toBe(names.length);
  });
});

// ---------------------------------------------------------------------------------------------
// Structural-schema rules the apiserver enforces (so a mistake fails here, not at install time),
// plus our own: everything documented, every CEL-checked value bounded.

function walk(s: Schema, path: string, visit: (s: Schema, path: string) => void): void {
  visit(s, path);
  for (const [k, p] of Object.entries(s.properties ?? {})) walk(p, `${path}.${k}`, visit);
  if (s.items) walk(s.items, `${path}[]`, visit);
  if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`, visit);
}

/**
 * Properties whose description explains nothing: absent, under three words ("Seconds.",
 * "Label key."), or not a sentence. metadata is exempt: the apiserver refuses anything but
 * name/generateName constraints under it, and kubectl explain shows ObjectMeta's own text there.
 */
function undocumented(root: Schema): string[] {
  const out: string[] = [];
  walk(root, '', (s, path) => {
    if (path === '.metadata') return;
    const d = s.description?.trim() ?? '';
    if (d.split(/\s+/).length < 3 || !/[.)]$/.test(d)) out.push(`${path || '(root)'}: ${JSON.stringify(d)}`);
  });
  return out;
}

describe('kubectl explain', () => {
  // The committed files, i.e. what `helm install` applies.
  const onDisk = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, parse(readFileSync(join(dir, f), 'utf8')) as CustomResourceDefinition] as const);

  it('reads all six CRDs', () => {
    expect(onDisk).toHaveLength(6);
  });

  it.each(onDisk)('%s: every property carries a real description', (_file, crd) => {
    for (const v of crd.spec.versions) expect(undocumented(v.schema.openAPIV3Schema)).toEqual([]);
  });

  it('the check catches a missing, a one-word and an unfinished description', () => {
    const bad: Schema = {
      type: 'object',
      description: 'A root object.',
      properties: {
        metadata: { type: 'object' },
        a: { type: 'string' },
        b: { type: 'integer', description: 'Seconds.' },
        c: {
          type: 'array',
          description: 'A list of things',
          items: { type: 'string', description: 'One thing of the list.' },
        },
      },
    };
    expect(undocumented(bad)).toEqual(['.a: ""', '.b: "Seconds."', '.c: "A list of things"']);
  });
});

describe.each(crds().map((c) => [c.spec.names.kind, c] as const))('%s schema', (_kind, crd) => {
  const root = crd.spec.versions[0]!.schema.openAPIV3Schema;

  it('every node has a type and a description (metadata excepted)', () => {
    walk(root, '', (s, path) => {
      expect(s.type, `${path} type`).toBeDefined();
      if (path !== '.metadata') expect(s.description, `${path} description`).toBeTruthy();
    });
  });

  it('required fields exist; list-map keys are required', () => {
    walk(root, '', (s, path) => {
      for (const r of s.required ?? []) expect(s.properties?.[r], `${path} requires ${r}`).toBeDefined();
      for (const k of s['x-kubernetes-list-map-keys'] ?? [])
        expect(s.items?.required, `${path} map key ${k}`).toContain(k);
    });
  });

  it('every array and string map is bounded, and every string under a CEL rule has maxLength', () => {
    walk(root, '', (s, path) => {
      if (s.type === 'array') expect(s.maxItems, `${path} maxItems`).toBeGreaterThan(0);
      if (s.additionalProperties) expect(s.maxProperties, `${path} maxProperties`).toBeGreaterThan(0);
      if (s.type === 'string' && s['x-kubernetes-validations'])
        expect(s.maxLength, `${path} maxLength`).toBeGreaterThan(0);
    });
  });

  it('every CEL rule has a message or a message expression', () => {
    walk(root, '', (s, path) => {
      for (const v of s['x-kubernetes-validations'] ?? []) {
        expect(v.message ?? v.messageExpression, `${path}: ${v.rule}`).toBeTruthy();
      }
    });
  });

  it('defaults are of the declared type', () => {
    walk(root, '', (s, path) => {
      if (s.default === undefined) return;
      const t = typeof s.default;
      const want = { boolean: 'boolean', integer: 'number', string: 'string', object: 'object' }[
        s.type as string
      ];
      expect(t, `${path} default`).toBe(want);
    });
  });
});

describe('defaults', () => {
  const spec = (i: number) => crds()[i]!.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!;
  it('IPAddressPool.autoAssign defaults to true, avoidBuggyIPs to false', () => {
    expect(spec(0).properties!.autoAssign!.default).toBe(true);
    expect(spec(0).properties!.avoidBuggyIPs!.default).toBe(false);
  });

  it('DEFAULTS in types.ts mirror the schema defaults', () => {
    expect(spec(0).properties!.autoAssign!.default).toBe(DEFAULTS.autoAssign);
    expect(spec(0).properties!.avoidBuggyIPs!.default).toBe(DEFAULTS.avoidBuggyIPs);
    expect(spec(2).properties!.ttl!.default).toBe(DEFAULTS.dnsTTL);
    const soa = spec(2).properties!.soa!.properties!;
    expect({
      refresh: soa.refresh!.default,
      retry: soa.retry!.default,
      expire: soa.expire!.default,
      minimum: soa.minimum!.default,
    }).toEqual(DEFAULTS.soa);
    expect(spec(3).properties!.peerPort!.default).toBe(DEFAULTS.bgp.peerPort);
    expect(spec(4).properties!.aggregationLength!.default).toBe(DEFAULTS.bgp.aggregationLength);
    expect(spec(4).properties!.aggregationLengthV6!.default).toBe(DEFAULTS.bgp.aggregationLengthV6);
  });
});

// ---------------------------------------------------------------------------------------------
// types.ts and the schemas describe the same shapes: a fully populated sample of each type (typed,
// so tsc checks it against types.ts) must use every schema field and only schema fields, with
// matching JSON types.

const selector = {
  matchLabels: { a: 'b' },
  matchExpressions: [{ key: 'k', operator: 'In' as const, values: ['v'] }],
};
const condition = {
  type: 'Ready',
  status: 'True' as const,
  reason: 'Valid',
  message: 'ok',
  lastTransitionTime: '2026-01-01T00:00:00Z',
  observedGeneration: 1,
};

const samples: {
  IPAddressPool: IPAddressPool;
  L2Advertisement: L2Advertisement;
  DNSZone: DNSZone;
  BGPPeer: BGPPeer;
  BGPAdvertisement: BGPAdvertisement;
  BGPSessionState: BGPSessionState;
} = {
  IPAddressPool: {
    apiVersion: API_VERSION as 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name: 'p' },
    spec: {
      addresses: ['192.0.2.0/24'],
      autoAssign: true,
      avoidBuggyIPs: false,
      allocation: { priority: 1, namespaces: ['ns'], namespaceSelector: selector, serviceSelector: selector },
    },
    status: {
      assignedIPv4: '1',
      assignedIPv6: '0',
      availableIPv4: '253',
      availableIPv6: '0',
      observedGeneration: 1,
      conditions: [condition],
    },
  },
  L2Advertisement: {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'L2Advertisement',
    metadata: { name: 'l' },
    spec: {
      ipAddressPools: ['p'],
      ipAddressPoolSelector: selector,
      nodeSelector: selector,
      interfaces: ['eth0'],
    },
    status: { conditions: [condition] },
  },
  DNSZone: {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'DNSZone',
    metadata: { name: 'z' },
    spec: {
      zone: 'k8s.home.arpa',
      ttl: 300,
      sources: {
        gateways: {
          enabled: true,
          gatewayClassNames: ['c'],
          gatewaySelector: selector,
          namespaceSelector: selector,
        },
        services: { enabled: true, namespaceSelector: selector },
      },
      records: [{ name: 'www', type: 'A', values: ['192.0.2.1'], ttl: 60 }],
      soa: { mname: 'ns', rname: 'hostmaster', refresh: 1, retry: 1, expire: 1, minimum: 1 },
      nameServers: ['ns'],
    },
    status: { records: 3, serial: 1, observedGeneration: 1, conditions: [condition] },
  },
  BGPPeer: {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'BGPPeer',
    metadata: { name: 'r' },
    spec: {
      myASN: 64512,
      peerASN: 64513,
      dynamicASN: 'external',
      peerAddress: '192.0.2.1',
      peerPort: 179,
      sourceAddress: '192.0.2.10',
      holdTime: '90s',
      keepaliveTime: '30s',
      connectTime: '10s',
      passwordSecret: { name: 's', namespace: 'portico-system' },
      ebgpMultiHop: false,
      nodeSelectors: [selector],
      enableGracefulRestart: true,
      routerID: '10.0.0.1',
    },
    status: { conditions: [condition] },
  },
  BGPAdvertisement: {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'BGPAdvertisement',
    metadata: { name: 'a' },
    spec: {
      aggregationLength: 32,
      aggregationLengthV6: 128,
      localPref: 100,
      communities: ['65535:65281'],
      ipAddressPools: ['p'],
      ipAddressPoolSelectors: [selector],
      nodeSelectors: [selector],
      peers: ['r'],
    },
    status: { conditions: [condition] },
  },
  BGPSessionState: {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'BGPSessionState',
    metadata: { name: 'n1-r' },
    spec: {},
    status: {
      node: 'n1',
      peer: 'r',
      peerAddress: '192.0.2.1',
      state: 'Established',
      lastError: 'hold timer expired',
      establishedSince: '2026-01-01T00:00:00Z',
      prefixesSent: 3,
      lastTransition: '2026-01-01T00:00:00Z',
    },
  },
};

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

/** Paths in `value` missing from `schema` or of another type; and schema paths `value` never uses. */
function compare(schema: Schema, value: unknown, path: string, problems: string[]): void {
  const t = jsonType(value);
  if (schema.type !== t) problems.push(`${path}: schema ${schema.type}, value ${t}`);
  if (t === 'array' && schema.items) {
    const arr = value as unknown[];
    if (arr.length === 0) problems.push(`${path}: sample array is empty`);
    for (const [i, el] of arr.entries()) compare(schema.items, el, `${path}[${i}]`, problems);
  } else if (t === 'object' && schema.additionalProperties) {
    for (const [k, el] of Object.entries(value as object))
      compare(schema.additionalProperties, el, `${path}{${k}}`, problems);
  } else if (t === 'object' && schema.properties) {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const p = schema.properties[k];
      if (!p) problems.push(`${path}.${k}: not in the schema`);
      else if (!(path === '' && k === 'metadata')) compare(p, obj[k], `${path}.${k}`, problems);
    }
    for (const k of Object.keys(schema.properties))
      if (!(k in obj)) problems.push(`${path}.${k}: not in the sample`);
  }
}

describe('types.ts matches the schemas', () => {
  it.each(Object.values(KINDS))('%s', (kind) => {
    const crd = crds().find((c) => c.spec.names.kind === kind)!;
    const problems: string[] = [];
    compare(crd.spec.versions[0]!.schema.openAPIV3Schema, samples[kind], '', problems);
    expect(problems).toEqual([]);
  });

  it('the comparison itself catches drift', () => {
    const crd = crds()[0]!;
    const problems: string[] = [];
    const bad = {
      ...samples.IPAddressPool,
      spec: { ...samples.IPAddressPool.spec, autoAssign: 'yes', extra: 1 },
    };
    compare(crd.spec.versions[0]!.schema.openAPIV3Schema, bad, '', problems);
    expect(problems).toEqual([
      '.spec.autoAssign: schema boolean, value string',
      '.spec.extra: not in the schema',
    ]);
  });
});
