// The people-facing form of a StatusReport: one kubectl-style table per section, then the
// problems. Pure.
import { age, renderTable } from '../format.ts';
import type { StatusReport } from './report.ts';

function usage(u: { assigned: string; available: string } | undefined): string {
  return u ? `${u.assigned}/${u.available}` : '';
}

/** "n1,n2" advertise it, "none" when an advertisement selects the pool but no session carries it. */
function vipBgp(v: StatusReport['vips'][number]): string {
  if (!v.bgp) return '';
  return v.bgp.nodes.length === 0
    ? 'none'
    : `${v.bgp.nodes.length} node${v.bgp.nodes.length === 1 ? '' : 's'}`;
}

export function statusTable(r: StatusReport, now: number): string {
  const out: string[] = [];
  const since = (t: string | null) => age(t ?? undefined, now) ?? '';

  if (r.controller) {
    const c = r.controller;
    out.push(
      c.live
        ? `Controller: leader ${c.holder} (Lease ${c.namespace}/portico-controller, renewed ${since(c.renewed)} ago)\n`
        : `Controller: NO LIVE LEADER (Lease ${c.namespace}/portico-controller${c.renewed ? `, last renewed ${since(c.renewed)} ago` : ''})\n`,
    );
  } else out.push('Controller: not found (no Lease portico-controller)\n');

  out.push('\nPOOLS (used/free per family)\n');
  out.push(
    r.pools.length === 0
      ? 'none\n'
      : renderTable(
          ['NAME', 'IPV4 USED/FREE', 'IPV6 USED/FREE', 'SERVICES', 'AUTO', 'READY', 'ADDRESSES'],
          r.pools.map((p) => [
            p.name,
            usage(p.ipv4),
            usage(p.ipv6),
            String(p.services),
            p.autoAssign ? 'yes' : 'no',
            p.ready,
            p.addresses.join(','),
          ]),
        ),
  );

  // The BGP column only where BGP is in use: L2-only clusters see the table they always saw.
  const bgpCol = r.bgp !== null || r.vips.some((v) => v.bgp !== null);
  out.push('\nVIPS\n');
  out.push(
    r.vips.length === 0
      ? 'none\n'
      : renderTable(
          ['IP', 'SERVICE', 'POOL', 'ANNOUNCED', 'NODE', 'INTERFACE', 'SINCE', ...(bgpCol ? ['BGP'] : [])],
          r.vips.map((v) => [
            v.ip,
            v.services.join(','),
            v.pool ?? '',
            v.announced === 'False' && v.reason ? `False (${v.reason})` : v.announced,
            v.node ?? '',
            v.interfaces.join(','),
            since(v.since),
            ...(bgpCol ? [vipBgp(v)] : []),
          ]),
        ),
  );

  if (r.pending.length > 0) {
    out.push('\nWAITING FOR AN IP\n');
    out.push(
      renderTable(
        ['SERVICE', 'REASON', 'FOR', 'MESSAGE'],
        r.pending.map((p) => [p.service, p.reason, since(p.since), p.message]),
      ),
    );
  }

  out.push('\nDNS ZONES\n');
  out.push(
    r.zones.length === 0
      ? 'none\n'
      : renderTable(
          ['ZONE', 'NAME', 'RECORDS', 'SERIAL', 'READY', 'CONFLICT'],
          r.zones.map((z) => [
            z.zone,
            z.name,
            z.records === null ? '' : String(z.records),
            z.serial === null ? '' : String(z.serial),
            z.ready,
            z.conflict ? 'yes' : 'no',
          ]),
        ),
  );

  out.push('\nSPEAKERS (Lease renewed within its duration = LIVE)\n');
  out.push(
    r.speakers.length === 0
      ? 'none\n'
      : renderTable(
          ['NODE', 'ADDRESS', 'LIVE', 'RENEWED', 'NODE READY', 'VIPS', 'NOTE'],
          r.speakers.map((s) => [
            s.node,
            s.address ?? '',
            s.address === null ? 'no' : s.live ? 'yes' : 'no',
            s.renewed ? `${since(s.renewed)} ago` : '',
            s.nodeReady,
            String(s.vips),
            [s.address === null ? 'no speaker Lease' : '', s.excluded ? 'excluded from LBs' : '']
              .filter(Boolean)
              .join(', '),
          ]),
        ),
  );

  if (r.bgp) {
    const b = r.bgp;
    out.push("\nBGP SESSIONS (one per node and peer, as each node's speaker reports it)\n");
    out.push(
      b.sessions.length === 0
        ? 'none\n'
        : renderTable(
            ['NODE', 'PEER', 'ADDRESS', 'STATE', 'PREFIXES', 'SINCE', 'LAST ERROR'],
            b.sessions.map((x) => [
              x.node,
              x.peer,
              x.address ?? '',
              x.state === 'Established' && !x.speakerLive ? 'Established (stale: speaker not live)' : x.state,
              x.prefixes === null ? '' : String(x.prefixes),
              since(x.since),
              x.lastError ?? '',
            ]),
          ),
    );
    if (b.peersWithoutSession.length > 0)
      out.push(`No session state on any node for BGPPeer ${b.peersWithoutSession.join(', ')}\n`);
  }

  out.push('\n');
  if (r.bgp)
    out.push(
      `BGP: ${r.bgp.established}/${r.bgp.sessions.length} sessions Established (${r.bgp.peers.length} BGPPeer${r.bgp.peers.length === 1 ? '' : 's'})\n`,
    );
  if (r.problems.length === 0) out.push('No problems found.\n');
  else {
    out.push(`PROBLEMS (${r.problems.length}); \`portico why SERVICE\` explains one Service\n`);
    for (const p of r.problems) out.push(`  - ${p}\n`);
  }
  for (const n of r.notes) out.push(`Note: ${n}\n`);
  return out.join('');
}
