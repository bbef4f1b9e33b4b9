import { describe, expect, it } from 'vitest';
import type { VipDecision } from '../../../speaker/election/elect.ts';
import { announcedBy } from '../../../speaker/election/partition.ts';

const d = (
  ip: string,
  owner: string | undefined,
  candidates: string[] = owner ? [owner] : [],
): [string, VipDecision] => [
  ip,
  owner === undefined
    ? { ip, owner, reason: 'no-live-node', message: '', services: [] }
    : { ip, owner, candidates, interfaces: ['eth0'], services: [] },
];

describe('partition policy', () => {
  // a is alone on its side: the election over {a} makes it owner of everything it is a candidate for.
  const isolated = new Map([
    d('192.0.2.1', 'a', ['a']), // owned before the partition
    d('192.0.2.2', 'a', ['a']), // b's before: a would grab it
    d('192.0.2.3', 'a', ['a']), // c's before
    d('192.0.2.4', undefined), // a is not a candidate (e.g. its link is down)
  ]);
  const before = new Set(['192.0.2.1', '192.0.2.4']);

  it('majority / tie / alone: exactly what the election gives us', () => {
    expect(announcedBy('a', isolated, { minority: false }, before)).toEqual(
      new Set(['192.0.2.1', '192.0.2.2', '192.0.2.3']),
    );
  });

  it('minority: hold what we announced, take nothing new, drop what we are no longer a candidate for', () => {
    expect(announcedBy('a', isolated, { minority: true }, before)).toEqual(new Set(['192.0.2.1']));
  });

  it('minority, fresh start: announce nothing (a node that boots isolated never steals)', () => {
    expect(announcedBy('a', isolated, { minority: true }, new Set())).toEqual(new Set());
  });

  it('announce-all policy (opt-in): split-brain but available', () => {
    expect(announcedBy('a', isolated, { minority: true }, before, 'announce-all')).toEqual(
      new Set(['192.0.2.1', '192.0.2.2', '192.0.2.3']),
    );
  });
});
