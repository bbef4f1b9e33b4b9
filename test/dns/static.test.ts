import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseZoneFile, watchZoneFile } from '../../dns/static.ts';

describe('zone file', () => {
  it('examples/zone.yaml parses', () => {
    const specs = parseZoneFile(readFileSync(join(import.meta.dirname, '../../examples/zone.yaml'), 'utf8'));
    expect(specs.map((s) => s.zone)).toEqual(['k8s.home.arpa', '2.0.192.in-addr.arpa']);
    expect(specs[0]?.records.some((r) => r.name === '*.apps')).toBe(true);
  });

  it('accepts a whole DNSZone object and a zones: list', () => {
    const dnszone = `apiVersion: portico.dev/v1alpha1\nkind: DNSZone\nmetadata: {name: a}\nspec:\n  zone: a.test\n  records: [{name: x, type: A, values: [192.0.2.1]}]\n`;
    expect(parseZoneFile(dnszone)[0]?.records[0]?.values).toEqual(['192.0.2.1']);
    expect(parseZoneFile('zones:\n  - zone: a.test\n  - zone: b.test\n').map((s) => s.zone)).toEqual([
      'a.test',
      'b.test',
    ]);
  });

  it.each([
    ['zone: a.test\nrecords: [{name: x, type: A, value: [192.0.2.1]}]', 'unknown key "value"'],
    ['zone: a.test\nttls: 3', 'unknown key "ttls"'],
    ['zone: a.test\nrecords: [{name: x, type: MX, values: [m]}]', '"type" must be one of'],
    ['zone: a.test\nrecords: [{name: x, type: A, values: [not-an-ip]}]', 'invalid IPv4'],
    ['zone: a.test\nrecords: [{name: x, type: A, values: []}]', 'non-empty'],
    ['zone: [broken', 'zone file'],
    ['', 'no zone'],
  ])('rejects %j', (text, msg) => {
    expect(() => parseZoneFile(text)).toThrow(msg);
  });

  it('watch: a change reloads; a broken save reports an error and no zones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-zone-'));
    const file = join(dir, 'zone.yaml');
    writeFileSync(file, 'zone: a.test\n');
    const events: string[] = [];
    const stop = watchZoneFile(
      file,
      (s) => events.push(`load ${s[0]?.records.length}`),
      (e) => events.push(`error ${e.message.includes('unknown key') ? 'unknown key' : e.message}`),
      50,
    );
    try {
      writeFileSync(file, 'zone: a.test\nrecords: [{name: x, type: A, values: [192.0.2.1]}]\n');
      await expect.poll(() => events, { timeout: 5000 }).toContain('load 1');
      writeFileSync(file, 'zone: a.test\nbogus: 1\n');
      await expect.poll(() => events, { timeout: 5000 }).toContain('error unknown key');
      // Editors save by writing a temp file and renaming it over the original: still seen, twice.
      for (const n of [2, 3]) {
        const tmp = join(dir, `.zone.yaml.${n}`);
        const values = Array.from({ length: n }, (_, i) => `192.0.2.${i + 1}`).join(', ');
        writeFileSync(
          tmp,
          `zone: a.test\nrecords: [${Array.from({ length: n }, (_, i) => `{name: h${i}, type: A, values: [${values}]}`).join(', ')}]\n`,
        );
        renameSync(tmp, file);
        await expect.poll(() => events, { timeout: 5000 }).toContain(`load ${n}`);
      }
      // Unrelated files in the same directory do not trigger reloads.
      const before = events.length;
      for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'other.txt'), String(i));
      await new Promise((r) => setTimeout(r, 300));
      expect(events.length).toBe(before);
    } finally {
      stop();
    }
  });
});
