// `portico migrate metallb -f` on the example manifests in test/fixtures/metallb/: stdout and the
// findings on stderr must equal the reviewed goldens. UPDATE_GOLDEN=1 rewrites them (then review
// the diff). Also: every object printed is valid for Portico's allocator (no Invalid pool) and
// every BGP object passes Portico's BGP checks; bgp.yaml's plain-text password is printed nowhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { compilePool } from '../../../controllers/ipam/pool.ts';
import { checkAdvertisement, checkPeer } from '../../../lib/api/bgp.ts';
import { runMigrate } from './support.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'metallb');
const FIXTURES = ['l2-basic', 'pools-advanced', 'l2-selectors', 'bgp'];

function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('portico migrate metallb -f: golden output on example manifests', () => {
  for (const name of FIXTURES) {
    test(name, async () => {
      const r = await runMigrate(['metallb', '-f', join(DIR, `${name}.yaml`)]);
      expect(r.code).toBe(0);
      golden(join(DIR, 'expected', `${name}.yaml`), r.out);
      golden(join(DIR, 'expected', `${name}.stderr`), r.err);
      // Every finding printed on stderr is also a comment in the YAML (and nothing else is).
      const comments = r.out
        .split('\n')
        .filter((l) => /^# (warning|note): /.test(l))
        .map((l) => l.slice(2));
      expect(comments).toEqual(r.err.trimEnd().split('\n').filter(Boolean));
      for (const doc of parseAllDocuments(r.out)) {
        const o = doc.toJS() as { kind: string; metadata: { name: string }; spec: never } | null;
        // Every BGP object passes Portico's own checks (the ones the CRD's CEL repeats).
        if (o?.kind === 'BGPPeer') expect(checkPeer(o as never), o.metadata.name).toEqual([]);
        if (o?.kind === 'BGPAdvertisement')
          expect(checkAdvertisement(o as never), o.metadata.name).toEqual([]);
        if (o?.kind !== 'IPAddressPool') continue;
        const c = compilePool({ name: o.metadata.name, spec: o.spec });
        expect(c.errors, o.metadata.name).toEqual([]);
      }
    });
  }

  test('a directory reads every manifest in it; -o json prints one v1 List', async () => {
    const r = await runMigrate(['metallb', '-f', DIR, '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as {
      kind: string;
      items: Array<{ kind: string; metadata: { name: string } }>;
    };
    expect(list.kind).toBe('List');
    const names = list.items.map((i) => `${i.kind}/${i.metadata.name}`);
    // crds.yaml holds CustomResourceDefinitions: noted and ignored, not an error.
    expect(names).toContain('IPAddressPool/lan');
    expect(names).toContain('L2Advertisement/office-edge-2');
    expect(names).toContain('BGPPeer/tor-a');
    expect(names).toContain('BGPAdvertisement/routed');
    expect(r.err).not.toContain('not supported yet');
    // The plain-text password in bgp.yaml is in no output, JSON included.
    expect(r.out).not.toContain('s3cret-do-not-print');
    expect(r.err).not.toContain('s3cret-do-not-print');
    expect(r.out).not.toContain('# warning');
  });
});

describe('portico migrate metallb: BGP', () => {
  test('--portico-namespace: a passwordSecret already in that namespace needs no copy; elsewhere the warning names both', async () => {
    const file = join(DIR, 'bgp.yaml');
    const same = await runMigrate(['metallb', '-f', file, '--portico-namespace', 'metallb-system']);
    expect(same.code).toBe(0);
    expect(same.err).not.toContain('BGPPeer/tor-a spec.passwordSecret');
    expect(same.err).toContain(
      'create that Secret in metallb-system with `kubectl -n metallb-system create secret generic tor-b-bgp-password',
    );
    const other = await runMigrate(['metallb', '-f', file, '--portico-namespace', 'lb']);
    expect(other.err).toContain(
      "BGPPeer/tor-a spec.passwordSecret: MetalLB reads Secret tor-a-md5 in metallb-system; Portico's speaker reads Secrets only in lb: copy it there",
    );
    for (const r of [same, other]) expect(`${r.out}${r.err}`).not.toContain('s3cret-do-not-print');
  });

  test('a bad --portico-namespace is a usage error', async () => {
    const r = await runMigrate(['metallb', '-f', 'x', '--portico-namespace', 'Not_A_Namespace']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--portico-namespace: "Not_A_Namespace" is not a namespace name');
  });
});

describe('portico migrate: exit codes', () => {
  test('usage errors exit 2 with the usage', async () => {
    for (const args of [
      [],
      ['calico'],
      ['metallb'],
      ['metallb', '-f', 'x', '-o', 'xml'],
      ['metallb', '--bogus'],
    ]) {
      const r = await runMigrate(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('usage: portico migrate metallb');
      expect(r.out).toBe('');
    }
  });

  test('-h prints the usage and exits 0', async () => {
    const r = await runMigrate(['metallb', '-h']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--from-cluster');
  });

  test('unreadable input exits 1 and prints nothing on stdout', async () => {
    const missing = await runMigrate(['metallb', '-f', join(DIR, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.yaml: no such file/);
    expect(missing.out).toBe('');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const bad = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'bad.yaml');
    writeFileSync(bad, 'kind: IPAddressPool\n  bad: [indent\n');
    const r = await runMigrate(['metallb', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.yaml');
    expect(r.out).toBe('');
  });

  test('--from-cluster without a reachable cluster exits 1', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const kc = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'kubeconfig');
    writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const r = await runMigrate(['metallb', '--from-cluster', '--kubeconfig', kc]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: reading the cluster/);
    expect(r.out).toBe('');
  });
});
