// Turning the requested-IPs annotation value into the list the allocator takes. The annotation is a
// comma-separated list (`192.0.2.10,2001:db8::10`); blanks around items are tolerated, empty items
// are not (a stray comma is more likely a mistake than intent).
import { canonicalIP } from '../../lib/net/index.ts';

export function parseRequestedIPs(
  value: string,
): { ok: true; value: string[] } | { ok: false; error: string } {
  if (typeof value !== 'string') return { ok: false, error: 'requested IPs must be a string' };
  const items = value.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') return { ok: true, value: [] };
  const out: string[] = [];
  for (const item of items) {
    if (item === '') return { ok: false, error: `empty item in requested IPs ${JSON.stringify(value)}` };
    const c = canonicalIP(item);
    if (!c.ok) return { ok: false, error: c.error };
    out.push(c.value);
  }
  return { ok: true, value: out };
}
