import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_ALIASES,
  ANNOTATIONS,
  type AnnotationName,
  aliasWarning,
  conflictWarning,
  resolveAnnotation,
  resolveAnnotations,
  shouldWarn,
  splitList,
} from '../../../lib/api/annotations.ts';

describe('annotation keys', () => {
  it('are the documented native keys', () => {
    expect(ANNOTATIONS).toEqual({
      loadBalancerIPs: 'portico.dev/load-balancer-ips',
      addressPool: 'portico.dev/address-pool',
      allowSharedIP: 'portico.dev/allow-shared-ip',
      hostname: 'portico.dev/hostname',
      allocatedFromPool: 'portico.dev/allocated-from-pool',
    });
  });

  it('honour MetalLB (both prefixes) and ExternalDNS (both forms) aliases', () => {
    expect(ANNOTATION_ALIASES.loadBalancerIPs).toEqual([
      'metallb.io/loadBalancerIPs',
      'metallb.universe.tf/loadBalancerIPs',
    ]);
    expect(ANNOTATION_ALIASES.addressPool).toEqual([
      'metallb.io/address-pool',
      'metallb.universe.tf/address-pool',
    ]);
    expect(ANNOTATION_ALIASES.allowSharedIP).toEqual([
      'metallb.io/allow-shared-ip',
      'metallb.universe.tf/allow-shared-ip',
    ]);
    expect(ANNOTATION_ALIASES.hostname).toEqual([
      'external-dns.alpha.kubernetes.io/hostname',
      'external-dns.kubernetes.io/hostname',
    ]);
  });

  it('no key serves two annotations', () => {
    const all = (Object.keys(ANNOTATIONS) as AnnotationName[]).flatMap((n) => [
      ANNOTATIONS[n],
      ...ANNOTATION_ALIASES[n],
    ]);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('resolveAnnotation', () => {
  it.each<
    [
      string,
      Record<string, string> | undefined,
      AnnotationName,
      Partial<ReturnType<typeof resolveAnnotation>> | undefined,
    ]
  >([
    ['no annotations', undefined, 'addressPool', undefined],
    ['unrelated annotations', { 'example.org/x': 'y' }, 'addressPool', undefined],
    [
      'native only',
      { 'portico.dev/address-pool': 'gold' },
      'addressPool',
      { key: 'portico.dev/address-pool', value: 'gold', alias: false, overridden: [] },
    ],
    [
      'MetalLB alias only',
      { 'metallb.io/address-pool': 'gold' },
      'addressPool',
      {
        key: 'metallb.io/address-pool',
        value: 'gold',
        alias: true,
        nativeKey: 'portico.dev/address-pool',
        overridden: [],
      },
    ],
    [
      'legacy MetalLB alias only',
      { 'metallb.universe.tf/allow-shared-ip': 'k1' },
      'allowSharedIP',
      { key: 'metallb.universe.tf/allow-shared-ip', value: 'k1', alias: true },
    ],
    [
      'native and alias agree: no conflict reported',
      { 'portico.dev/address-pool': 'gold', 'metallb.io/address-pool': 'gold' },
      'addressPool',
      { key: 'portico.dev/address-pool', value: 'gold', alias: false, overridden: [] },
    ],
    [
      'native and alias disagree: native wins, alias reported',
      { 'metallb.io/address-pool': 'silver', 'portico.dev/address-pool': 'gold' },
      'addressPool',
      {
        key: 'portico.dev/address-pool',
        value: 'gold',
        alias: false,
        overridden: [{ key: 'metallb.io/address-pool', value: 'silver' }],
      },
    ],
    [
      'two aliases disagree: metallb.io beats metallb.universe.tf',
      { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.2', 'metallb.io/loadBalancerIPs': '192.0.2.1' },
      'loadBalancerIPs',
      {
        key: 'metallb.io/loadBalancerIPs',
        value: '192.0.2.1',
        alias: true,
        overridden: [{ key: 'metallb.universe.tf/loadBalancerIPs', value: '192.0.2.2' }],
      },
    ],
    [
      'ExternalDNS non-alpha form',
      { 'external-dns.kubernetes.io/hostname': 'app.k8s.home.arpa' },
      'hostname',
      { key: 'external-dns.kubernetes.io/hostname', value: 'app.k8s.home.arpa', alias: true },
    ],
    [
      'value is trimmed',
      { 'portico.dev/hostname': '  app.k8s.home.arpa \n' },
      'hostname',
      { value: 'app.k8s.home.arpa' },
    ],
    [
      'a blank native value does not mask an alias',
      { 'portico.dev/address-pool': '  ', 'metallb.io/address-pool': 'gold' },
      'addressPool',
      { key: 'metallb.io/address-pool', value: 'gold', alias: true },
    ],
    [
      'only blank values: absent',
      { 'portico.dev/address-pool': '', 'metallb.io/address-pool': ' ' },
      'addressPool',
      undefined,
    ],
  ])('%s', (_name, annotations, name, want) => {
    const got = resolveAnnotation(annotations, name);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject({ name, nativeKey: ANNOTATIONS[name], ...want });
  });

  it('ignores inherited properties and non-string values (garbage from an untyped object)', () => {
    const proto = { 'portico.dev/address-pool': 'from-prototype' };
    const annotations = Object.create(proto) as Record<string, string>;
    expect(resolveAnnotation(annotations, 'addressPool')).toBeUndefined();
    expect(
      resolveAnnotation(
        { 'portico.dev/address-pool': 42 } as unknown as Record<string, string>,
        'addressPool',
      ),
    ).toBeUndefined();
  });

  it('property: the native key always wins when it has a value, whatever the aliases say', () => {
    const names = Object.keys(ANNOTATIONS) as AnnotationName[];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
        fc.array(fc.option(fc.string(), { nil: undefined }), { minLength: 2, maxLength: 2 }),
        (name, native, aliasValues) => {
          const annotations: Record<string, string> = { [ANNOTATIONS[name]]: native };
          ANNOTATION_ALIASES[name].forEach((key, i) => {
            const v = aliasValues[i];
            if (v !== undefined) annotations[key] = v;
          });
          const r = resolveAnnotation(annotations, name);
          expect(r?.key).toBe(ANNOTATIONS[name]);
          expect(r?.value).toBe(native.trim());
          expect(r?.alias).toBe(false);
          // Every reported override is a present alias whose trimmed value differs.
          for (const o of r?.overridden ?? []) {
            expect(ANNOTATION_ALIASES[name]).toContain(o.key);
            expect(o.value).not.toBe(native.trim());
            expect(o.value).toBe(annotations[o.key]?.trim());
          }
        },
      ),
    );
  });
});

describe('resolveAnnotations', () => {
  it('resolves every annotation that has a value', () => {
    const all = resolveAnnotations({
      'metallb.io/loadBalancerIPs': '192.0.2.1',
      'portico.dev/hostname': 'a.k8s.home.arpa',
      unrelated: 'x',
    });
    expect(Object.keys(all).sort()).toEqual(['hostname', 'loadBalancerIPs']);
    expect(all.loadBalancerIPs?.alias).toBe(true);
  });
});

describe('warnings', () => {
  it('an alias a user wrote warns, naming the native key', () => {
    const r = resolveAnnotation({ 'metallb.io/address-pool': 'gold' }, 'addressPool')!;
    expect(shouldWarn(r)).toBe(true);
    expect(aliasWarning(r)).toBe(
      'annotation metallb.io/address-pool is honoured for compatibility; use portico.dev/address-pool instead',
    );
  });

  it('the native key and MetalLB-written annotations do not warn', () => {
    expect(shouldWarn(resolveAnnotation({ 'portico.dev/address-pool': 'gold' }, 'addressPool')!)).toBe(false);
    expect(
      shouldWarn(resolveAnnotation({ 'metallb.io/ip-allocated-from-pool': 'gold' }, 'allocatedFromPool')!),
    ).toBe(false);
  });

  it('conflictWarning names both values, or is undefined without a conflict', () => {
    const r = resolveAnnotation(
      { 'portico.dev/address-pool': 'gold', 'metallb.io/address-pool': 'silver' },
      'addressPool',
    )!;
    expect(conflictWarning(r)).toBe(
      'annotations disagree: using portico.dev/address-pool="gold", ignoring metallb.io/address-pool="silver"',
    );
    expect(
      conflictWarning(resolveAnnotation({ 'portico.dev/address-pool': 'gold' }, 'addressPool')!),
    ).toBeUndefined();
  });
});

describe('splitList', () => {
  it.each([
    ['192.0.2.1', ['192.0.2.1']],
    ['192.0.2.1, 2001:db8::1', ['192.0.2.1', '2001:db8::1']],
    [' a.example , ,b.example,a.example ,', ['a.example', 'b.example']],
    ['', []],
    [' , ', []],
  ])('%j', (input, want) => {
    expect(splitList(input)).toEqual(want);
  });
});
