import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHeartbeatKey } from '../../../speaker/membership/key.ts';
import { Membership } from '../../../speaker/membership/membership.ts';

describe('heartbeat key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the key, ignoring one trailing newline', () => {
    const p = join(dir, 'k1');
    writeFileSync(p, 'abcdefghijklmnopqrstuvwxyz\n');
    expect(loadHeartbeatKey(p).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
    writeFileSync(p, 'abcdefghijklmnopqrstuvwxyz\r\n');
    expect(loadHeartbeatKey(p).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
  });

  it('refuses to start without a key, with a message saying why', () => {
    expect(() => loadHeartbeatKey(undefined)).toThrow(/refusing to start/);
    expect(() => loadHeartbeatKey(join(dir, 'missing'))).toThrow(
      /cannot read .*missing.*ENOENT.*refusing to start/,
    );
  });

  it('refuses a short key', () => {
    const p = join(dir, 'short');
    writeFileSync(p, 'short\n');
    expect(() => loadHeartbeatKey(p)).toThrow(/5 bytes; at least 16/);
  });

  it('Membership itself refuses a missing or short key', () => {
    expect(() => new Membership({ node: 'a', key: Buffer.from('short'), peers: [] })).toThrow(/key/);
  });
});
