import { describe, expect, it } from 'vitest';
import { controllerFieldManager, LOAD_BALANCER_CLASS } from '../../../lib/api/group.ts';

describe('controllerFieldManager', () => {
  it('the default class keeps the plain name (upgrades own the same fields); others get their own', () => {
    expect(controllerFieldManager(LOAD_BALANCER_CLASS)).toBe('portico-controller');
    expect(controllerFieldManager('example.com/lb')).toBe('portico-controller:example.com/lb');
    expect(controllerFieldManager('a.example/lb')).not.toBe(controllerFieldManager('b.example/lb'));
  });

  it('stays within the 128 characters the apiserver allows', () => {
    expect(controllerFieldManager(`${'x'.repeat(200)}.example/lb`).length).toBe(128);
  });
});
