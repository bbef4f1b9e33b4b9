// The people-facing form of a Diagnosis: verdict first, then each finding with what to do, then
// the raw evidence (conditions, Events) it was read from. Pure.
import { age, renderTable } from '../format.ts';
import type { Diagnosis } from './diagnose.ts';

const MARK = { ok: '[ok]     ', info: '[info]   ', problem: '[problem]' } as const;

export function whyTable(d: Diagnosis, now: number): string {
  const out: string[] = [];
  out.push(
    `Service ${d.service}: type ${d.type}${d.loadBalancerClass ? `, class ${d.loadBalancerClass}` : ''}\n`,
  );
  out.push(`IPs:     ${d.ips.length ? d.ips.join(', ') : 'none'}${d.pool ? ` (pool ${d.pool})` : ''}\n`);
  out.push(`Verdict: ${d.verdict.toUpperCase()}: ${d.summary}\n\n`);
  for (const f of d.findings) {
    out.push(`${MARK[f.level]} ${f.code}: ${f.message}\n`);
    if (f.hint) out.push(`          -> ${f.hint}\n`);
  }
  if (d.conditions.length > 0) {
    out.push('\nConditions:\n');
    out.push(
      renderTable(
        ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
        d.conditions.map((c) => [
          c.type,
          c.status,
          c.reason,
          age(c.lastTransitionTime ?? undefined, now) ?? '',
          c.message,
        ]),
      ),
    );
  }
  out.push('\nEvents (newest first):\n');
  out.push(
    d.events.length === 0
      ? 'none (Events expire after an hour by default)\n'
      : renderTable(
          ['AGE', 'TYPE', 'REASON', 'COUNT', 'FROM', 'NOTE'],
          d.events.map((e) => [
            age(e.time ?? undefined, now) ?? '',
            e.type,
            e.reason,
            String(e.count),
            e.from,
            e.note,
          ]),
        ),
  );
  for (const n of d.notes) out.push(`Note: ${n}\n`);
  return out.join('');
}
