// The allocator keeps its own structural input types (no dependency of the pure core on lib/api);
// this checks at type level and at run time that lib/api's IPAddressPool spec fits them, so the
// reconciler can pass `{ name: pool.metadata.name, spec: pool.spec }` straight through.
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../../controllers/ipam/allocator.ts';
import type { PoolInput } from '../../../controllers/ipam/types.ts';
import type { IPAddressPool } from '../../../lib/api/types.ts';

describe('lib/api IPAddressPool fits the allocator input', () => {
  it('passes a typed pool object straight through', () => {
    const pool: IPAddressPool = {
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'IPAddressPool',
      metadata: { name: 'lan' },
      spec: {
        addresses: ['192.0.2.0/30'],
        allocation: {
          priority: 1,
          namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] },
        },
      },
    };
    const input: PoolInput = { name: pool.metadata?.name ?? '', spec: pool.spec };
    const a = new Allocator();
    expect(a.setPools([input]).pools[0]?.valid).toBe(true);
    expect(a.allocate({ namespace: 'ns', name: 's', namespaceLabels: { a: '1' } }).ips).toEqual([
      '192.0.2.0',
    ]);
  });
});
