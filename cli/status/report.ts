// `portico status`, pure: plain lists of objects (as the apiserver returns them) in, one report out.
// No client, no clock (the caller passes `now`), so every case is a table test (test/cli/status).
//
// Where each fact comes from (none of it is computed here, only read and cross-checked):
//   - pool usage: IPAddressPool status assigned/available per family (controllers/pool-state.ts);
//   - which Service holds which IP: status.loadBalancer.ingress + the allocated-from-pool annotation;
//   - who announces a VIP: the Service's portico.dev/Announced condition, one "<ip>: node N
//     interface I" part per VIP (speaker/kube/status.ts). Its lastTransitionTime moves only when the
//     status flips, so a move between nodes is dated by the speaker's OwnerChanged Event when one is
//     still around (Events expire, by default after an hour);
//   - zones: DNSZone status records/serial/conditions (dns/sources/status.ts);
//   - speakers: their Leases `portico-speaker-<node>` (ADR 070). Heartbeat liveness itself is UDP
//     between speakers and invisible to the API: a fresh Lease says "a speaker runs there and
//     renews", the speakers' own metrics say who hears whom;
//   - BGP sessions: the BGPSessionStates each node's speaker writes (speaker/kube/bgp.ts), checked
//     against the BGPPeers and BGPAdvertisements (cli/status/bgp.ts).

import {
  carriesOurState,
  ingressIPs,
  recordedPool,
  type ServiceObject,
} from '../../controllers/service-state.ts';
import {
  ANNOUNCED_REASONS,
  DNS_ZONE_CONDITIONS,
  EVENT_REASONS,
  IP_ALLOCATED_REASONS,
  POOL_CONDITIONS,
  SERVICE_CONDITIONS,
} from '../../lib/api/conditions.ts';
import { type ClassConfig, servedByPortico } from '../../lib/api/service-class.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  DNSZone,
  IPAddressPool,
} from '../../lib/api/types.ts';
import { EXCLUDE_LABEL } from '../../speaker/election/elect.ts';
import {
  HEARTBEAT_ADDRESS_ANNOTATION,
  LEASE_PREFIX,
  type LeaseLike,
  leaseFresh,
  SPEAKER_LEASE_LABEL,
} from '../../speaker/kube/peers.ts';
import { type BgpReport, bgpProblems, bgpReport, poolBgp } from './bgp.ts';

/** The controller's leader Lease name (controllers/controller.ts DEFAULT_LEASE_NAME; a test keeps them equal). */
export const CONTROLLER_LEASE = 'portico-controller';

export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** events.k8s.io/v1 Event, the fields read here. */
export interface EventLike {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  regarding?: { kind?: string; name?: string; namespace?: string; uid?: string };
  type?: string;
  reason?: string;
  note?: string;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  deprecatedLastTimestamp?: string | null;
  deprecatedCount?: number | null;
  reportingController?: string;
}

export interface StatusInput {
  now: number;
  classes: ClassConfig;
  pools: readonly IPAddressPool[];
  services: readonly ServiceObject[];
  /** undefined = the DNSZone list could not be read (reported as a note). */
  zones: readonly DNSZone[] | undefined;
  /** Speaker Leases (any namespace); Leases not labelled as a speaker's are ignored. */
  speakerLeases: readonly LeaseLike[];
  /** Leases named portico-controller (any namespace). */
  controllerLeases: readonly LeaseLike[];
  nodes: readonly NodeLike[];
  /** OwnerChanged Events (others are ignored). */
  events: readonly EventLike[];
  /** undefined = the list could not be read (the BGP CRDs are not installed, or forbidden): a note. */
  bgpPeers: readonly BGPPeer[] | undefined;
  bgpAdvertisements: readonly BGPAdvertisement[] | undefined;
  bgpSessions: readonly BGPSessionState[] | undefined;
  /** Only Services of this namespace (pools, zones and speakers are cluster-wide anyway). */
  namespace?: string;
  /** Caveats from reading the inputs (a list that could not be read), copied into the report. */
  notes?: readonly string[];
}

export type Tri = 'True' | 'False' | 'Unknown';

export interface FamilyUsage {
  /** Decimal strings, exact for any pool size (an IPv6 /64 overflows a JS number). */
  assigned: string;
  available: string;
}

export interface PoolRow {
  name: string;
  addresses: string[];
  autoAssign: boolean;
  ready: Tri;
  /** The Ready condition's message (or why Ready is Unknown). */
  message: string;
  ipv4?: FamilyUsage;
  ipv6?: FamilyUsage;
  /** Services whose IPs were recorded against this pool. */
  services: number;
}

export interface VipRow {
  ip: string;
  /** "namespace/name", sorted; several when the IP is shared (allow-shared-ip). */
  services: string[];
  pool: string | null;
  /** Announced: True = a node answers ARP/NDP for it; Unknown = no speaker has reported yet. */
  announced: Tri;
  node: string | null;
  interfaces: string[];
  /** Since when `node` announces it (RFC 3339), when known. */
  since: string | null;
  /** The Announced reason when not announced (NoL2Advertisement, NoEligibleNode, …). */
  reason: string | null;
  message: string;
  /** BGP: null when no BGPAdvertisement selects the VIP's pool (or BGP is not in use / unreadable). */
  bgp: VipBgp | null;
}

export interface VipBgp {
  /** BGPAdvertisements selecting the pool, sorted. */
  advertisements: string[];
  /**
   * Nodes with an Established session that one of them uses (node and peer selected), sorted: they
   * advertise the VIP for externalTrafficPolicy Cluster; for Local only those with a ready endpoint
   * do (`portico why` reads the EndpointSlices).
   */
  nodes: string[];
}

export interface PendingRow {
  service: string;
  /** The IPAllocated reason, or NotProcessed when the controller has not written one. */
  reason: string;
  message: string;
  since: string | null;
}

export interface ZoneRow {
  name: string;
  zone: string;
  records: number | null;
  serial: number | null;
  ready: Tri;
  message: string;
  conflict: boolean;
}

export interface SpeakerRow {
  node: string;
  /** Heartbeat address from the Lease, null when the node has no speaker Lease. */
  address: string | null;
  namespace: string | null;
  /** Lease renewed within its duration. */
  live: boolean;
  renewed: string | null;
  /** Node Ready condition; Unknown when the Node object is missing. */
  nodeReady: Tri;
  /** Node carries node.kubernetes.io/exclude-from-external-load-balancers. */
  excluded: boolean;
  /** VIPs whose Announced condition names this node. */
  vips: number;
}

export interface ControllerRow {
  namespace: string;
  holder: string | null;
  renewed: string | null;
  live: boolean;
}

export interface StatusReport {
  generatedAt: string;
  controller: ControllerRow | null;
  pools: PoolRow[];
  vips: VipRow[];
  pending: PendingRow[];
  zones: ZoneRow[];
  speakers: SpeakerRow[];
  /** BGP mode: null when no BGPPeer and no BGPSessionState exist (or they could not be read). */
  bgp: BgpReport | null;
  /** Everything that looks wrong, one sentence each; empty = all fine. */
  problems: string[];
  /** Caveats about the report itself (e.g. a list that could not be read). */
  notes: string[];
}

type CondLike = {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
};

function cond(list: readonly CondLike[] | undefined, type: string): CondLike | undefined {
  return (list ?? []).find((c) => c.type === type);
}

function tri(s: string | undefined): Tri {
  return s === 'True' || s === 'False' ? s : 'Unknown';
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Is this Service one Portico handles (by class) or has handled (carries its state)? */
export function isPorticoService(svc: ServiceObject, classes: ClassConfig): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  return servedByPortico(svc, classes) || carriesOurState(svc);
}

export interface AnnouncedPart {
  ip: string;
  node: string | null;
  interfaces: string[];
  /** The "not announced (…)" text, when not announced. */
  why: string | null;
}

/**
 * Split the Announced message back into its per-VIP parts. The speaker writes
 * `<ip>: node <N> interface <a,b>` or `<ip>: not announced (<why>)`, joined by `; `
 * (speaker/kube/status.ts). A part that matches neither form is kept as `why`.
 */
export function parseAnnouncedMessage(message: string | undefined): AnnouncedPart[] {
  if (!message) return [];
  const out: AnnouncedPart[] = [];
  // Split only where the next part starts with an address and a colon: a reason may hold "; ".
  for (const part of message.split(/; (?=[0-9a-fA-F.:]+: )/)) {
    const m = /^([0-9a-fA-F.:]+?): (.*)$/s.exec(part.trim());
    if (!m) continue;
    const ip = m[1]!;
    const rest = m[2]!;
    const owned = /^node (\S+) interface (.+)$/.exec(rest);
    if (owned) {
      const ifs = owned[2]! === 'unknown interface' ? [] : owned[2]!.split(',').filter(Boolean);
      out.push({ ip, node: owned[1]!, interfaces: ifs, why: null });
      continue;
    }
    const not = /^not announced \((.*)\)$/s.exec(rest);
    out.push({ ip, node: null, interfaces: [], why: not ? not[1]! : rest });
  }
  return out;
}

/** When an Event last happened (series → eventTime → deprecated timestamps → creation). */
export function eventTime(e: EventLike): string | null {
  return (
    e.series?.lastObservedTime ||
    e.eventTime ||
    e.deprecatedLastTimestamp ||
    e.metadata?.creationTimestamp ||
    null
  );
}

/**
 * When each node last took each VIP, from the speakers' OwnerChanged Events ("<ip> announced by
 * node <N> on <ifs>"), keyed "<ip> <node>".
 */
export function ownerChangeTimes(events: readonly EventLike[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.reason !== EVENT_REASONS.OwnerChanged) continue;
    const m = /^(\S+) announced by node (\S+)/.exec(e.note ?? '');
    const t = eventTime(e);
    if (!m || !t) continue;
    const key = `${m[1]} ${m[2]}`;
    out.set(key, later(out.get(key) ?? null, t)!);
  }
  return out;
}

export function later(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function poolRow(p: IPAddressPool, services: number): PoolRow {
  const ready = cond(p.status?.conditions, POOL_CONDITIONS.Ready);
  const gen = p.metadata?.generation;
  const stale =
    ready &&
    gen !== undefined &&
    p.status?.observedGeneration !== undefined &&
    p.status.observedGeneration < gen;
  const row: PoolRow = {
    name: p.metadata?.name ?? '',
    addresses: [...(p.spec?.addresses ?? [])],
    autoAssign: p.spec?.autoAssign ?? true,
    ready: tri(ready?.status),
    message: ready
      ? `${ready.message ?? ''}${stale ? ' (status is from an older spec: the controller has not caught up)' : ''}`
      : 'no Ready condition: the controller has not processed this pool (is it running?)',
    services,
  };
  const s = p.status;
  if (s?.assignedIPv4 !== undefined || s?.availableIPv4 !== undefined)
    row.ipv4 = { assigned: s.assignedIPv4 ?? '0', available: s.availableIPv4 ?? '0' };
  if (s?.assignedIPv6 !== undefined || s?.availableIPv6 !== undefined)
    row.ipv6 = { assigned: s.assignedIPv6 ?? '0', available: s.availableIPv6 ?? '0' };
  return row;
}

function isZero(s: string | undefined): boolean {
  return s !== undefined && /^0+$/.test(s);
}

export function buildStatus(input: StatusInput): StatusReport {
  const now = input.now;
  const problems: string[] = [];
  const notes: string[] = [...(input.notes ?? [])];

  // ---- Services: ours only, optionally one namespace.
  const services = input.services
    .filter((s) => isPorticoService(s, input.classes))
    .filter((s) => input.namespace === undefined || s.metadata?.namespace === input.namespace)
    .sort((a, b) => byText(keyOf(a), keyOf(b)));

  const perPool = new Map<string, number>();
  for (const s of services) {
    const p = recordedPool(s);
    if (p !== null && ingressIPs(s).length > 0) perPool.set(p, (perPool.get(p) ?? 0) + 1);
  }

  // ---- Pools.
  const pools = [...input.pools]
    .sort((a, b) => byText(a.metadata?.name ?? '', b.metadata?.name ?? ''))
    .map((p) => poolRow(p, perPool.get(p.metadata?.name ?? '') ?? 0));
  for (const p of pools) {
    if (p.ready === 'False') problems.push(`pool ${p.name} is not ready: ${p.message}`);
    else if (p.ready === 'Unknown') problems.push(`pool ${p.name}: ${p.message}`);
    for (const [fam, u] of [
      ['IPv4', p.ipv4],
      ['IPv6', p.ipv6],
    ] as const) {
      if (u && isZero(u.available) && !isZero(u.assigned))
        problems.push(`pool ${p.name} has no free ${fam} address left (${u.assigned} assigned)`);
    }
  }
  if (pools.length === 0)
    problems.push('no IPAddressPool exists: no Service can get an IP (see the README, "Give it addresses")');

  // ---- Speakers (Leases), joined with Nodes.
  const leaseByNode = new Map<string, LeaseLike>();
  for (const l of input.speakerLeases) {
    const holder = l.spec?.holderIdentity;
    if (!holder || l.metadata?.labels?.[SPEAKER_LEASE_LABEL] !== 'true') continue;
    if (!l.metadata?.name?.startsWith(LEASE_PREFIX)) continue;
    const prev = leaseByNode.get(holder);
    // Two installs in two namespaces: keep the fresher Lease.
    if (!prev || Date.parse(l.spec?.renewTime ?? '') > Date.parse(prev.spec?.renewTime ?? '')) {
      leaseByNode.set(holder, l);
    }
  }
  const nodeByName = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n]));

  // ---- VIPs: one row per IP, from every Service holding it.
  const vipRows = new Map<string, VipRow>();
  const pending: PendingRow[] = [];
  for (const s of services) {
    const key = keyOf(s);
    const ips = ingressIPs(s);
    const allocated = cond(s.status?.conditions, SERVICE_CONDITIONS.IPAllocated);
    if (ips.length === 0) {
      pending.push({
        service: key,
        reason: allocated?.reason ?? 'NotProcessed',
        message: allocated
          ? (allocated.message ?? '')
          : 'no portico.dev/IPAllocated condition yet: the controller has not handled this Service',
        since: allocated?.lastTransitionTime ?? null,
      });
      continue;
    }
    if (allocated && allocated.status === 'False' && allocated.reason === IP_ALLOCATED_REASONS.OutOfPool) {
      problems.push(`${key} keeps ${ips.join(', ')} outside every pool: ${allocated.message ?? ''}`);
    }
    const announced = cond(s.status?.conditions, SERVICE_CONDITIONS.Announced);
    const parts = new Map(parseAnnouncedMessage(announced?.message).map((p) => [p.ip, p]));
    for (const ip of ips) {
      let row = vipRows.get(ip);
      if (!row) {
        row = {
          ip,
          services: [],
          pool: recordedPool(s),
          announced: 'Unknown',
          node: null,
          interfaces: [],
          since: null,
          reason: null,
          message: 'no portico.dev/Announced condition yet: no speaker has reported on this VIP',
          bgp: null,
        };
        vipRows.set(ip, row);
      }
      row.services.push(key);
      // The first Service (sorted) with a word about this IP speaks for the row.
      if (row.announced !== 'Unknown' || !announced) continue;
      const part = parts.get(ip);
      if (part?.node) {
        row.announced = 'True';
        row.node = part.node;
        row.interfaces = part.interfaces;
        row.since = announced.lastTransitionTime ?? null;
        row.message = `announced by node ${part.node}`;
      } else {
        row.announced = 'False';
        row.reason = announced.status === 'True' ? null : (announced.reason ?? null);
        row.message = part?.why ?? announced.message ?? '';
        if (announced.status === 'True') row.message = `the Announced condition does not mention ${ip}`;
      }
    }
  }
  // A move between nodes keeps the condition True (same lastTransitionTime): the Event dates it.
  const moves = ownerChangeTimes(input.events);
  for (const row of vipRows.values()) {
    if (row.node) row.since = later(row.since, moves.get(`${row.ip} ${row.node}`) ?? null);
  }
  const vips = [...vipRows.values()].sort((a, b) => compareIPs(a.ip, b.ip));

  // ---- BGP: which advertisements select each VIP's pool, which sessions carry it.
  const bgpLists =
    input.bgpPeers !== undefined && input.bgpAdvertisements !== undefined && input.bgpSessions !== undefined;
  // The shell's note says why (cli/kube.ts); one of ours only when it gave none.
  if (!bgpLists && !notes.some((n) => n.includes('BGP')))
    notes.push('BGP peers, advertisements or sessions could not be listed: the BGP part is missing');
  const liveSpeakerNodes = new Set(
    [...leaseByNode].filter(([, l]) => leaseFresh(l, now)).map(([node]) => node),
  );
  const bgp =
    input.bgpPeers && input.bgpSessions
      ? bgpReport(input.bgpPeers, input.bgpSessions, liveSpeakerNodes)
      : null;
  if (bgpLists && (input.bgpAdvertisements!.length > 0 || bgp)) {
    const poolObj = new Map(input.pools.map((p) => [p.metadata?.name ?? '', p]));
    const labels = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels]));
    for (const v of vips) {
      if (v.pool === null) continue;
      const pb = poolBgp(
        v.pool,
        poolObj.get(v.pool),
        input.bgpAdvertisements!,
        input.bgpSessions!,
        labels,
        liveSpeakerNodes,
      );
      if (pb.advertisements.length === 0) continue;
      v.bgp = {
        advertisements: pb.advertisements,
        nodes: [...new Set(pb.established.map((e) => e.node))].sort(byText),
      };
    }
  }

  for (const v of vips) {
    const who = v.services.join(', ');
    const bgpOnly =
      (v.announced === 'False' && v.reason === ANNOUNCED_REASONS.NoL2Advertisement) ||
      // The speakers leave VIPs that BGP alone carries out of the Announced condition.
      v.announced === 'Unknown';
    if (v.bgp && bgpOnly) {
      // A BGP-only pool: the L2 side rightly says "not announced"; BGP carries the VIP instead.
      // Any other L2 failure (no eligible node, …) stays a problem even when BGP carries the VIP.
      if (v.bgp.nodes.length === 0)
        problems.push(
          `${v.ip} (${who}) is not announced over L2${v.reason ? ` (${v.reason})` : ''} and no BGP session that BGPAdvertisement ${v.bgp.advertisements.join(', ')} uses is Established: no node advertises it`,
        );
      continue;
    }
    if (v.announced === 'True') {
      const lease = leaseByNode.get(v.node!);
      if (!lease || !leaseFresh(lease, now)) {
        problems.push(
          `${v.ip} (${who}): its condition names node ${v.node}, whose speaker Lease is ${lease ? 'expired' : 'missing'}; the VIP may be dark until another speaker takes it`,
        );
      }
    } else if (v.announced === 'False') {
      problems.push(`${v.ip} (${who}) is not announced${v.reason ? ` (${v.reason})` : ''}: ${v.message}`);
    } else {
      problems.push(`${v.ip} (${who}): ${v.message}`);
    }
  }
  for (const p of pending) problems.push(`${p.service} has no IP (${p.reason}): ${p.message}`);

  // ---- Speakers table: every speaker Lease, plus Nodes without one.
  const owned = new Map<string, number>();
  for (const v of vips) if (v.node) owned.set(v.node, (owned.get(v.node) ?? 0) + 1);
  const speakerNodes = new Set([...leaseByNode.keys(), ...nodeByName.keys()].filter(Boolean));
  const speakers: SpeakerRow[] = [...speakerNodes].sort(byText).map((name) => {
    const lease = leaseByNode.get(name);
    const node = nodeByName.get(name);
    const address = lease?.metadata?.annotations?.[HEARTBEAT_ADDRESS_ANNOTATION]?.trim() || null;
    return {
      node: name,
      address: lease ? address : null,
      namespace: lease?.metadata?.namespace ?? null,
      live: lease ? leaseFresh(lease, now) : false,
      renewed: lease?.spec?.renewTime ?? null,
      nodeReady: node ? tri(cond(node.status?.conditions, 'Ready')?.status) : 'Unknown',
      excluded: node?.metadata?.labels !== undefined && Object.hasOwn(node.metadata.labels, EXCLUDE_LABEL),
      vips: owned.get(name) ?? 0,
    };
  });
  const liveSpeakers = speakers.filter((s) => s.live).length;
  if (vips.length > 0 && liveSpeakers === 0) {
    problems.push('no speaker is live (no fresh portico-speaker-<node> Lease): no VIP is announced');
  }
  for (const s of speakers) {
    if (s.address !== null && !s.live && nodeByName.has(s.node))
      problems.push(`speaker on node ${s.node} stopped renewing its Lease (last ${s.renewed ?? 'never'})`);
  }

  // ---- Controller leader.
  let controller: ControllerRow | null = null;
  for (const l of input.controllerLeases) {
    if (l.metadata?.name !== CONTROLLER_LEASE) continue;
    const row: ControllerRow = {
      namespace: l.metadata?.namespace ?? '',
      holder: l.spec?.holderIdentity || null,
      renewed: l.spec?.renewTime ?? null,
      live: !!l.spec?.holderIdentity && leaseFresh(l, now),
    };
    if (!controller || (row.live && !controller.live)) controller = row;
  }
  if (!controller) {
    problems.push('no controller Lease portico-controller found: is the controller installed?');
  } else if (!controller.live) {
    problems.push(
      `the controller has no live leader (Lease ${controller.namespace}/${CONTROLLER_LEASE}${controller.holder ? ` last held by ${controller.holder}` : ' released'}): no IP is allocated or released`,
    );
  }

  // ---- Zones.
  let zones: ZoneRow[] = [];
  if (input.zones === undefined) notes.push('DNSZones could not be listed');
  else {
    zones = [...input.zones]
      .sort((a, b) => byText(a.spec?.zone ?? '', b.spec?.zone ?? ''))
      .map((z) => {
        const ready = cond(z.status?.conditions, DNS_ZONE_CONDITIONS.Ready);
        const conflict = cond(z.status?.conditions, DNS_ZONE_CONDITIONS.Conflict);
        return {
          name: z.metadata?.name ?? '',
          zone: z.spec?.zone ?? '',
          records: typeof z.status?.records === 'number' ? z.status.records : null,
          serial: typeof z.status?.serial === 'number' ? z.status.serial : null,
          ready: tri(ready?.status),
          message: ready
            ? (ready.message ?? '')
            : 'no Ready condition: no DNS server has served this zone (is portico-dns running?)',
          conflict: conflict?.status === 'True',
          conflictMessage: conflict?.status === 'True' ? (conflict.message ?? '') : undefined,
        };
      })
      .map(({ conflictMessage, ...z }) => {
        if (z.ready !== 'True') problems.push(`zone ${z.zone} is not served: ${z.message}`);
        if (z.conflict) problems.push(`zone ${z.zone} has conflicting records: ${conflictMessage ?? ''}`);
        return z;
      });
  }

  if (bgp)
    problems.push(
      ...bgpProblems(bgp, {
        peers: input.bgpPeers ?? [],
        nodeLabels: new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels])),
        liveSpeakers: liveSpeakerNodes,
        ...(controller?.namespace ? { namespace: controller.namespace } : {}),
      }),
    );

  return {
    generatedAt: new Date(now).toISOString(),
    controller,
    pools,
    vips,
    pending,
    zones,
    speakers,
    bgp,
    problems,
    notes,
  };
}

/** IPv4 before IPv6, numerically within a family (so .9 sorts before .10). */
export function compareIPs(a: string, b: string): number {
  const ka = ipSortKey(a);
  const kb = ipSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : byText(a, b);
}

function ipSortKey(ip: string): string {
  if (ip.includes('.') && !ip.includes(':')) {
    const parts = ip.split('.').map((p) => Number(p));
    if (parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255))
      return `4${parts.map((p) => p.toString(16).padStart(2, '0')).join('')}`;
    return `9${ip}`;
  }
  const halves = ip.split('::');
  if (halves.length > 2) return `9${ip}`;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return `9${ip}`;
  return `6${groups.map((g) => g.toLowerCase().padStart(4, '0')).join('')}`;
}
