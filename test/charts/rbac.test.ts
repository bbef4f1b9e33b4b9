import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPONENTS, RBAC_TEMPLATE, renderRbac } from '../../charts/rbac.ts';

describe('chart RBAC template', () => {
  it('is what `npm run chart` generates from the components rule lists (run it after changing one)', () => {
    expect(readFileSync(RBAC_TEMPLATE, 'utf8')).toBe(renderRbac());
  });

  it('grants every rule of every component and nothing beyond them', () => {
    const text = renderRbac();
    for (const c of COMPONENTS) {
      for (const r of [...c.clusterRules, ...c.namespaceRules]) {
        expect(text).toContain(`verbs: [${r.verbs.map((v) => JSON.stringify(v)).join(', ')}]`);
      }
    }
    // No wildcards: least privilege means every verb and resource is named.
    expect(text).not.toMatch(/"\*"/);
  });
});
