// `portico why SERVICE`, pure: one Service, its Events and the cluster objects that decide its fate
// in, a diagnosis out. It explains what the controller and the speakers already concluded (their
// conditions and Events are the source of truth) and adds the context a user needs next: which
// pools exist and how full they are, which L2Advertisements cover what, whether a speaker is alive,
// whether an externalTrafficPolicy: Local Service has ready endpoints, and in BGP mode which
// BGPAdvertisements select its pool and which nodes' Established sessions carry it (from the
// speakers' BGPSessionStates, cli/status/bgp.ts). It never re-runs the allocator or the election:
// a second, slightly different opinion would only confuse.

import {
  carriesOurState,
  ingressIPs,
  recordedPool,
  type ServiceObject,
} from '../../controllers/service-state.ts';
import { resolveAnnotations, shouldWarn } from '../../lib/api/annotations.ts';
import {
  ANNOUNCED_REASONS,
  IP_ALLOCATED_REASONS,
  POOL_CONDITIONS,
  SERVICE_CONDITIONS,
} from '../../lib/api/conditions.ts';
import type { ClassConfig } from '../../lib/api/service-class.ts';
import type {
  BGPAdvertisement,
  BGPPeer,
  BGPSessionState,
  IPAddressPool,
  L2Advertisement,
} from '../../lib/api/types.ts';
import { type LeaseLike, leaseFresh, SPEAKER_LEASE_LABEL } from '../../speaker/kube/peers.ts';
import {
  type BgpContext,
  type BgpPath,
  type BgpSessionRow,
  describePaths,
  poolBgp,
  sessionRow,
  whyNoSession,
} from '../status/bgp.ts';
import type { NodeLike } from '../status/report.ts';
import {
  CONTROLLER_LEASE,
  type EventLike,
  eventTime,
  keyOf,
  later,
  ownerChangeTimes,
  parseAnnouncedMessage,
} from '../status/report.ts';

export interface EndpointSliceLike {
  metadata?: { labels?: Record<string, string> };
  endpoints?: Array<{ nodeName?: string; conditions?: { ready?: boolean | null } }>;
}

export interface WhyInput {
  now: number;
  classes: ClassConfig;
  service: ServiceObject;
  /** Events regarding this Service (others are ignored). */
  events: readonly EventLike[];
  pools: readonly IPAddressPool[];
  l2Advertisements: readonly L2Advertisement[];
  speakerLeases: readonly LeaseLike[];
  controllerLeases: readonly LeaseLike[];
  /** The Service's EndpointSlices (label kubernetes.io/service-name). */
  endpointSlices: readonly EndpointSliceLike[];
  /** BGP mode; undefined = could not be read (no BGP part in the diagnosis). */
  bgpPeers: readonly BGPPeer[] | undefined;
  bgpAdvertisements: readonly BGPAdvertisement[] | undefined;
  bgpSessions: readonly BGPSessionState[] | undefined;
  /** Nodes, for the BGPAdvertisements' nodeSelectors. */
  nodes: readonly NodeLike[];
  notes?: readonly string[];
}

/** How the Service's VIPs go out over BGP. */
export interface WhyBgp {
  /** BGPAdvertisements selecting the Service's pool, sorted; empty = not advertised over BGP. */
  advertisements: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  /**
   * (node, peer) sessions that are Established and that an advertisement uses: these nodes
   * advertise the VIPs to these peers. For externalTrafficPolicy Local only nodes with a ready
   * endpoint (the others withdraw).
   */
  advertisedBy: BgpPath[];
  /** Local only: nodes with such an Established session but no ready endpoint (not advertising). */
  withoutLocalEndpoint: string[];
  /** Sessions an advertisement would use that are not Established. */
  sessionsDown: BgpSessionRow[];
}

export type Level = 'ok' | 'info' | 'problem';

export interface Finding {
  level: Level;
  /** Stable, machine-matchable: the condition reason when there is one. */
  code: string;
  message: string;
  /** What to do about it, when there is something to do. */
  hint?: string;
}

export interface EventRow {
  time: string | null;
  type: string;
  reason: string;
  note: string;
  count: number;
  from: string;
}

export interface Diagnosis {
  service: string;
  type: string;
  loadBalancerClass: string | null;
  ips: string[];
  pool: string | null;
  /** ok: allocated and announced; problem: something stops it; ignored: Portico does not serve it. */
  verdict: 'ok' | 'problem' | 'ignored';
  summary: string;
  findings: Finding[];
  conditions: Array<{
    type: string;
    status: string;
    reason: string;
    message: string;
    lastTransitionTime: string | null;
  }>;
  /** BGP mode: null when no BGPPeer, BGPAdvertisement or session state exists (or they could not be read), or no IP. */
  bgp: WhyBgp | null;
  /** Newest first, at most MAX_EVENTS. */
  events: EventRow[];
  /** Caveats from reading the inputs (a list that could not be read). */
  notes: string[];
}

export const MAX_EVENTS = 10;

type Cond = NonNullable<NonNullable<ServiceObject['status']>['conditions']>[number];

function condOf(svc: ServiceObject, type: string): Cond | undefined {
  return (svc.status?.conditions ?? []).find((c) => c.type === type);
}

function poolSummary(p: IPAddressPool): string {
  const s = p.status ?? {};
  const fam = (name: string, used?: string, free?: string) =>
    used !== undefined || free !== undefined ? `${name} ${used ?? '0'} used/${free ?? '0'} free` : '';
  const usage = [fam('IPv4', s.assignedIPv4, s.availableIPv4), fam('IPv6', s.assignedIPv6, s.availableIPv6)]
    .filter(Boolean)
    .join(', ');
  const ready = (s.conditions ?? []).find((c) => c.type === POOL_CONDITIONS.Ready);
  const flags = [
    p.spec?.autoAssign === false ? 'autoAssign: false' : '',
    p.spec?.allocation?.namespaces?.length ? `namespaces ${p.spec.allocation.namespaces.join(',')}` : '',
    p.spec?.allocation?.namespaceSelector ? 'namespaceSelector' : '',
    p.spec?.allocation?.serviceSelector ? 'serviceSelector' : '',
    ready?.status === 'False' ? 'NOT READY' : '',
  ]
    .filter(Boolean)
    .join('; ');
  return `${p.metadata?.name} [${(p.spec?.addresses ?? []).join(', ')}]${usage ? ` ${usage}` : ''}${flags ? ` (${flags})` : ''}`;
}

/** Pool names in an allocator message "… eligible pools (a, b)" / "(a)". */
export function poolsNamedIn(message: string): string[] {
  const m = /pools? \(([^)]*)\)/.exec(message);
  return m
    ? m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/** The allocator's RequestedIPInUse messages that are about sharing rules (controllers/ipam/allocator.ts). */
export function isSharingConflict(message: string): boolean {
  return /allow-shared-ip|does not allow sharing|with sharing key|other backends|on the same port/.test(
    message,
  );
}

function eventRows(events: readonly EventLike[], svc: ServiceObject): EventRow[] {
  const uid = svc.metadata?.uid;
  return events
    .filter(
      (e) =>
        (e.regarding?.kind ?? 'Service') === 'Service' &&
        e.regarding?.name === svc.metadata?.name &&
        (e.regarding?.namespace ?? e.metadata?.namespace) === svc.metadata?.namespace &&
        // An Event about an earlier Service of the same name is history, not this Service's.
        (!uid || !e.regarding?.uid || e.regarding.uid === uid),
    )
    .map((e) => ({
      time: eventTime(e),
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      note: e.note ?? '',
      count: e.series?.count ?? e.deprecatedCount ?? 1,
      from: e.reportingController ?? '',
    }))
    .sort((a, b) => (Date.parse(b.time ?? '') || 0) - (Date.parse(a.time ?? '') || 0))
    .slice(0, MAX_EVENTS);
}

export function diagnose(input: WhyInput): Diagnosis {
  const svc = input.service;
  const key = keyOf(svc);
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const cls = spec.loadBalancerClass ?? null;
  const ips = ingressIPs(svc);
  const pool = recordedPool(svc);
  const findings: Finding[] = [];
  const add = (level: Level, code: string, message: string, hint?: string) =>
    findings.push(hint ? { level, code, message, hint } : { level, code, message });
  const poolByName = new Map(input.pools.map((p) => [p.metadata?.name ?? '', p]));
  const speakersLive = input.speakerLeases.filter(
    (l) => l.metadata?.labels?.[SPEAKER_LEASE_LABEL] === 'true' && leaseFresh(l, input.now),
  );
  const liveNodes = new Set(speakersLive.map((l) => l.spec?.holderIdentity ?? ''));
  const controllerLease = input.controllerLeases.find((l) => l.metadata?.name === CONTROLLER_LEASE);
  const controllerLive = !!controllerLease?.spec?.holderIdentity && leaseFresh(controllerLease, input.now);
  // Where Portico runs, for the kubectl hints: the release namespace holds its Leases.
  const ns =
    controllerLease?.metadata?.namespace ??
    input.speakerLeases.find((l) => l.metadata?.namespace)?.metadata?.namespace ??
    'portico-system';

  let bgp: WhyBgp | null = null;
  const done = (verdict: Diagnosis['verdict'], summary: string): Diagnosis => ({
    service: key,
    type,
    loadBalancerClass: cls,
    ips,
    pool,
    verdict,
    summary,
    findings,
    conditions: (svc.status?.conditions ?? [])
      .filter((c) => c.type.startsWith('portico.dev/'))
      .map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: c.lastTransitionTime ?? null,
      })),
    bgp,
    events: eventRows(input.events, svc),
    notes: [...(input.notes ?? [])],
  });

  // ---- 1. Is it Portico's at all?
  if (type !== 'LoadBalancer') {
    add(
      'problem',
      'NotLoadBalancer',
      `spec.type is ${type}: Portico only gives IPs to Services of type LoadBalancer`,
      `kubectl -n ${svc.metadata?.namespace} patch svc ${svc.metadata?.name} -p '{"spec":{"type":"LoadBalancer"}}'`,
    );
    return done('ignored', `${key} is not of type LoadBalancer`);
  }
  const ours = carriesOurState(svc);
  if (cls !== null && cls !== '' && cls !== input.classes.lbClass) {
    add(
      'problem',
      'OtherLoadBalancerClass',
      `spec.loadBalancerClass is ${cls}: another load balancer implementation serves this Service; Portico serves ${input.classes.lbClass}${ours ? ' (it still carries state Portico wrote earlier; the controller removes it)' : ''}`,
      `spec.loadBalancerClass cannot be changed on an existing Service: recreate it with loadBalancerClass: ${input.classes.lbClass} (or without a class)`,
    );
    return done('ignored', `${key} belongs to load balancer class ${cls}`);
  }
  const unclassed = cls === null || cls === '';
  if (unclassed && !input.classes.handleUnclassed && !ours) {
    add(
      'problem',
      'Unclassed',
      `the Service sets no loadBalancerClass and Portico was told to serve only ${input.classes.lbClass} (--handle-unclassed=false given to portico)`,
      `recreate it with spec.loadBalancerClass: ${input.classes.lbClass}`,
    );
    return done('ignored', `${key} sets no loadBalancerClass`);
  }

  // Deprecated (MetalLB / ExternalDNS) annotations: honoured, worth a note.
  for (const r of Object.values(resolveAnnotations(svc.metadata?.annotations))) {
    if (r && shouldWarn(r))
      add('info', 'DeprecatedAnnotation', `${r.key} is honoured; prefer ${r.nativeKey}`);
  }

  // ---- 2. Allocation (controller).
  const allocated = condOf(svc, SERVICE_CONDITIONS.IPAllocated);
  const gen = svc.metadata?.generation;
  if (
    allocated &&
    gen !== undefined &&
    allocated.observedGeneration !== undefined &&
    allocated.observedGeneration < gen
  ) {
    add(
      'info',
      'StaleCondition',
      `portico.dev/IPAllocated describes generation ${allocated.observedGeneration}, the Service is at ${gen}: the controller has not handled the latest change yet`,
    );
  }
  const controllerHint = controllerLease
    ? controllerLive
      ? undefined
      : `the controller has no live leader (Lease ${controllerLease.metadata?.namespace}/${CONTROLLER_LEASE}): kubectl -n ${controllerLease.metadata?.namespace} get pods`
    : 'no Lease portico-controller exists: is Portico installed (helm install portico charts/portico)?';
  if (!allocated) {
    if (ips.length > 0 && !ours) {
      add(
        'problem',
        'ForeignIP',
        `it has ${ips.join(', ')} but no Portico condition: something else (another load balancer, or a manual status write) assigned it`,
      );
      return done('problem', `${key} got its IP from something other than Portico`);
    }
    add(
      'problem',
      'NotProcessed',
      `no portico.dev/IPAllocated condition: the controller has not handled this Service${unclassed ? ' (if portico runs with --handle-unclassed=false it ignores Services without a class)' : ''}`,
      controllerHint ??
        `the controller is running: check its log (kubectl -n ${ns} logs -l app.kubernetes.io/component=controller)`,
    );
    return done('problem', `${key} has not been handled by the controller`);
  }
  const msg = allocated.message ?? '';
  const namedPool = resolveAnnotations(svc.metadata?.annotations).addressPool?.value;
  if (allocated.status !== 'True' && allocated.reason !== IP_ALLOCATED_REASONS.OutOfPool) {
    const reason = allocated.reason;
    const allPools = input.pools.map(poolSummary);
    const poolsLine = allPools.length ? `pools: ${allPools.join('; ')}` : 'no IPAddressPool exists';
    switch (reason) {
      case IP_ALLOCATED_REASONS.NoMatchingPool: {
        const invalid = namedPool ? poolByName.get(namedPool) : undefined;
        const invalidCond = (invalid?.status?.conditions ?? []).find(
          (c) => c.type === POOL_CONDITIONS.Invalid && c.status === 'True',
        );
        if (namedPool && !poolByName.has(namedPool))
          add(
            'problem',
            'PoolNotFound',
            msg,
            `create IPAddressPool ${namedPool} or fix the address-pool annotation; ${poolsLine}`,
          );
        else if (/ is invalid: /.test(msg) || invalidCond)
          add(
            'problem',
            'PoolInvalid',
            invalidCond ? `${msg} (pool ${namedPool}: ${invalidCond.message})` : msg,
            `fix spec.addresses of pool ${namedPool}: kubectl describe ipp ${namedPool}`,
          );
        else
          add(
            'problem',
            reason,
            msg,
            `${poolsLine}. Name a pool with the annotation portico.dev/address-pool, or make a pool admit this namespace`,
          );
        break;
      }
      case IP_ALLOCATED_REASONS.PoolExhausted: {
        const named = poolsNamedIn(msg)
          .map((n) => poolByName.get(n))
          .filter((p): p is IPAddressPool => p !== undefined);
        add(
          'problem',
          reason,
          msg,
          `${named.length ? `usage: ${named.map(poolSummary).join('; ')}. ` : ''}Add addresses to a pool, or delete a LoadBalancer Service you no longer need`,
        );
        break;
      }
      case IP_ALLOCATED_REASONS.RequestedIPInUse:
        if (isSharingConflict(msg))
          add(
            'problem',
            'SharingConflict',
            msg,
            'to share one IP, both Services need the same portico.dev/allow-shared-ip value, different ports, and (with externalTrafficPolicy: Local) the same selector',
          );
        else add('problem', reason, msg, 'request another IP, or release it from the Service holding it');
        break;
      case IP_ALLOCATED_REASONS.RequestedIPNotInPool:
        add(
          'problem',
          reason,
          msg,
          `request an address inside a pool (annotation portico.dev/load-balancer-ips or spec.loadBalancerIP); ${poolsLine}`,
        );
        break;
      case IP_ALLOCATED_REASONS.DualStackUnavailable:
        add(
          'problem',
          reason,
          msg,
          `give one pool both IPv4 and IPv6 addresses, or use ipFamilyPolicy: PreferDualStack; ${poolsLine}`,
        );
        break;
      case IP_ALLOCATED_REASONS.InvalidAnnotation:
        add('problem', reason, msg, 'fix the annotation named above (kubectl annotate --overwrite …)');
        break;
      default:
        add('problem', reason || 'NotAllocated', msg || 'the controller reports no IP');
    }
    if (controllerHint) add('problem', 'ControllerDown', controllerHint);
    // A Service can keep its old IPs while a change (e.g. a new requested IP) fails.
    if (ips.length === 0) return done('problem', `${key} has no IP: ${reason}`);
    add('info', 'KeepsIP', `it keeps ${ips.join(', ')} meanwhile`);
  } else if (allocated.reason === IP_ALLOCATED_REASONS.OutOfPool) {
    add(
      'problem',
      'OutOfPool',
      msg,
      'the IP keeps working, but no pool covers it any more: restore the pool range, or delete and recreate the Service for a new IP',
    );
  } else {
    add('ok', 'Allocated', msg || `allocated ${ips.join(', ')}`);
    if (ips.length === 0) {
      add(
        'problem',
        'NoIngress',
        'the condition says Allocated but status.loadBalancer.ingress is empty: the controller has not finished writing (or another writer cleared it)',
      );
      return done('problem', `${key} has no IP in its status`);
    }
  }

  // ---- 3. Announcement (speakers): BGP is read first, L2 findings come first.
  const readyNodes = new Set<string>();
  let readyCount = 0;
  for (const s of input.endpointSlices)
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      readyCount++;
      if (e.nodeName) readyNodes.add(e.nodeName);
    }
  const bgpFindings: Finding[] = [];
  bgp = bgpPart(
    input,
    liveNodes,
    controllerLease?.metadata?.namespace ?? speakersLive[0]?.metadata?.namespace,
    pool,
    ips,
    readyNodes,
    readyCount,
    bgpFindings,
  );
  const announced = condOf(svc, SERVICE_CONDITIONS.Announced);
  // The speakers leave VIPs that BGP alone carries out of the (L2) Announced condition.
  const l2MayCover = input.l2Advertisements.some((a) => {
    const s = a.spec ?? {};
    const bySelector =
      !!s.ipAddressPoolSelector ||
      !!(s as { ipAddressPoolSelectors?: unknown[] }).ipAddressPoolSelectors?.length;
    return bySelector || !s.ipAddressPools?.length || (pool !== null && s.ipAddressPools.includes(pool));
  });
  if (!announced && bgp !== null && bgp.advertisements.length > 0 && !l2MayCover) {
    add(
      'info',
      ANNOUNCED_REASONS.NoL2Advertisement,
      `no L2Advertisement covers pool ${pool ?? '(unknown)'}, so there is no portico.dev/Announced condition: the pool is advertised over BGP (BGPAdvertisement ${bgp.advertisements.join(', ')})`,
    );
  } else if (!announced) {
    findings.push(...bgpFindings);
    if (liveNodes.size === 0)
      add(
        'problem',
        'NoSpeaker',
        'no speaker is running: no fresh portico-speaker-<node> Lease exists, so nobody answers ARP/NDP for the VIP',
        `kubectl -n ${ns} get daemonset,pods -l app.kubernetes.io/component=speaker`,
      );
    else
      add(
        'problem',
        'NotAnnouncedYet',
        `no portico.dev/Announced condition yet although ${liveNodes.size} speaker(s) are live: they have not handled this Service (the speakers serve class ${input.classes.lbClass}${input.classes.handleUnclassed ? ' and unclassed Services' : ''})`,
        `kubectl -n ${ns} logs -l app.kubernetes.io/component=speaker`,
      );
    return done('problem', `${key} has ${ips.join(', ')} but it is not announced`);
  }
  const parts = announced ? parseAnnouncedMessage(announced.message) : [];
  if (announced?.status === 'True') {
    const nodes = new Set<string>();
    // A move between nodes keeps the condition True: the OwnerChanged Event dates it (status.ts).
    const moves = ownerChangeTimes(input.events);
    for (const p of parts) {
      if (!p.node) continue;
      nodes.add(p.node);
      const since = later(announced.lastTransitionTime ?? null, moves.get(`${p.ip} ${p.node}`) ?? null);
      add(
        'ok',
        ANNOUNCED_REASONS.Announced,
        `${p.ip} is announced by node ${p.node}${p.interfaces.length ? ` on ${p.interfaces.join(',')}` : ''}${since ? ` since ${since}` : ''}`,
      );
    }
    for (const n of nodes) {
      if (!liveNodes.has(n))
        add(
          'problem',
          'StaleOwner',
          `the condition names node ${n}, but its speaker Lease is not fresh: that speaker may be gone, and the VIP dark until a live speaker takes over and rewrites the condition`,
          `kubectl -n ${ns} get pods -o wide --field-selector spec.nodeName=${n}`,
        );
    }
  } else if (announced) {
    const reason = announced.reason;
    for (const p of parts.filter((x) => x.node === null)) {
      const why = p.why ?? '';
      if (
        (reason === ANNOUNCED_REASONS.NoL2Advertisement || /no L2Advertisement covers/.test(why)) &&
        bgp !== null &&
        bgp.advertisements.length > 0
      ) {
        // A BGP-only pool: no L2Advertisement is expected; the BGP findings below say the rest.
        add(
          'info',
          ANNOUNCED_REASONS.NoL2Advertisement,
          `${p.ip}: ${why}; the pool is advertised over BGP (BGPAdvertisement ${bgp.advertisements.join(', ')})`,
        );
      } else if (reason === ANNOUNCED_REASONS.NoL2Advertisement || /no L2Advertisement covers/.test(why)) {
        const ads = input.l2Advertisements.map((a) => {
          const covers = a.spec?.ipAddressPools?.length
            ? `pools ${a.spec.ipAddressPools.join(',')}`
            : a.spec?.ipAddressPoolSelector
              ? 'pools by selector'
              : 'every pool';
          return `${a.metadata?.name} (${covers})`;
        });
        add(
          'problem',
          ANNOUNCED_REASONS.NoL2Advertisement,
          `${p.ip}: ${why}`,
          `create an L2Advertisement whose ipAddressPools include ${pool ?? 'the pool'} (spec: {} covers every pool); existing: ${ads.length ? ads.join('; ') : 'none'}`,
        );
      } else if (/externalTrafficPolicy Local/.test(why)) {
        const ready = readyNodes;
        add(
          'problem',
          'NoLocalEndpoint',
          `${p.ip}: ${why}`,
          readyCount === 0
            ? 'the Service has no ready endpoint: its pods are not ready, or its selector matches no pod (kubectl get endpointslices -l kubernetes.io/service-name=NAME)'
            : `ready endpoints run on ${[...ready].sort().join(', ') || 'unknown nodes'}; with externalTrafficPolicy: Local only those nodes may announce: check that a live speaker runs there and an L2Advertisement selects them (live speakers: ${[...liveNodes].sort().join(', ') || 'none'})`,
        );
      } else {
        add(
          'problem',
          ANNOUNCED_REASONS.NoEligibleNode,
          `${p.ip}: ${why}`,
          `live speakers: ${[...liveNodes].sort().join(', ') || 'none'}; check the L2Advertisements' nodeSelector and interfaces, the exclude-from-external-load-balancers label and NetworkUnavailable`,
        );
      }
    }
    if (parts.length === 0)
      add('problem', reason || 'NotAnnounced', announced.message || 'the speakers report it not announced');
  }
  findings.push(...bgpFindings);

  const problems = findings.filter((f) => f.level === 'problem');
  if (problems.length > 0) return done('problem', `${key}: ${problems.map((f) => f.code).join(', ')}`);
  const where = parts
    .filter((p) => p.node)
    .map((p) => `${p.ip} on node ${p.node}`)
    .join(', ');
  const bgpNodes = new Set(bgp?.advertisedBy.map((p) => p.node) ?? []);
  const how = [
    where ? `announced (${where})` : '',
    bgpNodes.size ? `advertised over BGP by ${bgpNodes.size} node${bgpNodes.size === 1 ? '' : 's'}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return done('ok', `${key} is fine: ${ips.join(', ')}${pool ? ` from pool ${pool}` : ''}, ${how}`);
}

/**
 * The BGP part of a diagnosis (null when BGP is not in use or could not be read), its findings
 * appended to `out`. Which node advertises (README "BGP mode", speaker/bgp/plan.ts): a node with an
 * Established session to a peer that an advertisement selecting the pool names, on a node it
 * selects; for externalTrafficPolicy Local only while the node has a ready endpoint.
 */
function bgpPart(
  input: WhyInput,
  liveSpeakers: ReadonlySet<string>,
  namespace: string | undefined,
  pool: string | null,
  ips: readonly string[],
  readyNodes: ReadonlySet<string>,
  readyCount: number,
  out: Finding[],
): WhyBgp | null {
  const { bgpPeers: peers, bgpAdvertisements: ads, bgpSessions: sessions } = input;
  if (peers === undefined || ads === undefined || sessions === undefined) return null;
  if (peers.length === 0 && ads.length === 0 && sessions.length === 0) return null;
  if (pool === null || ips.length === 0) return null;
  const add = (level: Level, code: string, message: string, hint?: string) =>
    out.push(hint ? { level, code, message, hint } : { level, code, message });
  const local = input.service.spec?.externalTrafficPolicy === 'Local';
  const poolObj = input.pools.find((p) => p.metadata?.name === pool);
  const labels = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels]));
  const pb = poolBgp(pool, poolObj, ads, sessions, labels, liveSpeakers);
  const ctx: BgpContext = { peers, nodeLabels: labels, liveSpeakers, ...(namespace ? { namespace } : {}) };
  const advertisedBy = local ? pb.established.filter((p) => readyNodes.has(p.node)) : pb.established;
  const withoutLocalEndpoint = local
    ? [...new Set(pb.established.filter((p) => !readyNodes.has(p.node)).map((p) => p.node))].sort()
    : [];
  const result: WhyBgp = {
    advertisements: pb.advertisements,
    externalTrafficPolicy: local ? 'Local' : 'Cluster',
    advertisedBy,
    withoutLocalEndpoint,
    sessionsDown: pb.down,
  };
  const vips = ips.join(', ');
  if (pb.advertisements.length === 0) {
    const existing = [...ads]
      .map((a) => {
        const s = a.spec ?? {};
        const covers = s.ipAddressPools?.length
          ? `pools ${s.ipAddressPools.join(',')}`
          : s.ipAddressPoolSelectors?.length
            ? 'pools by selector'
            : 'every pool';
        return `${a.metadata?.name} (${covers})`;
      })
      .sort();
    add(
      'info',
      'NoBGPAdvertisement',
      `no BGPAdvertisement selects pool ${pool}: ${vips} is not advertised over BGP`,
      `to advertise it, create a BGPAdvertisement with ipAddressPools: [${pool}] (spec: {} selects every pool); existing: ${existing.length ? existing.join('; ') : 'none'}`,
    );
    return result;
  }
  const adsText = `BGPAdvertisement ${pb.advertisements.join(', ')}`;
  const downText = pb.down
    .map((d) =>
      d.state === 'Established'
        ? `node ${d.node} → ${d.peer} reads Established but its speaker is not live (stale)`
        : `node ${d.node} → ${d.peer} is ${d.state}${d.lastError ? ` (${d.lastError})` : ''}`,
    )
    .join('; ');
  if (advertisedBy.length > 0) {
    add(
      'ok',
      'BGPAdvertised',
      `${vips} is advertised over BGP (${adsText}) by node ${describePaths(advertisedBy)}${local ? ' (externalTrafficPolicy Local: only nodes with a ready endpoint advertise)' : ''}`,
    );
    if (withoutLocalEndpoint.length > 0)
      add(
        'info',
        'BGPNoLocalEndpoint',
        `node ${withoutLocalEndpoint.join(', ')} has an Established session but no ready endpoint: it does not advertise ${vips} (externalTrafficPolicy Local)`,
      );
    if (pb.down.length > 0) add('info', 'BGPSessionDown', `not Established, so not advertising: ${downText}`);
    return result;
  }
  if (pb.established.length > 0) {
    // Local: sessions are up, but not on the nodes that have endpoints.
    add(
      'problem',
      'BGPNoLocalEndpoint',
      `${vips} is advertised by no node over BGP: externalTrafficPolicy Local, and ${readyCount === 0 ? 'the Service has no ready endpoint' : `its ready endpoints run on ${[...readyNodes].sort().join(', ') || 'unknown nodes'}`}, while Established sessions (${adsText}) are on ${withoutLocalEndpoint.join(', ')}`,
      readyCount === 0
        ? 'make its pods ready (kubectl get endpointslices -l kubernetes.io/service-name=NAME), or use externalTrafficPolicy: Cluster'
        : `give the nodes with endpoints an Established session (BGPPeer and ${adsText} nodeSelectors), or use externalTrafficPolicy: Cluster${downText ? `; not Established: ${downText}` : ''}`,
    );
    return result;
  }
  add(
    'problem',
    'NoBGPSession',
    `${adsText} selects pool ${pool}, but no session it uses is Established: ${vips} is advertised by no node over BGP`,
    pb.down.length > 0
      ? `${downText} (kubectl get bgpsessionstates -o wide; a refused connection or no answer at all can be a TCP MD5 password mismatch or the router not accepting this node)`
      : noSessionHint(input, pb.advertisements, ctx),
  );
  return result;
}

/** Why no session an advertisement uses exists at all: per peer it names, or its nodeSelectors. */
function noSessionHint(input: WhyInput, advertisements: readonly string[], ctx: BgpContext): string {
  const ads = (input.bgpAdvertisements ?? []).filter((a) => advertisements.includes(a.metadata?.name ?? ''));
  const peers = input.bgpPeers ?? [];
  const named = new Set(ads.flatMap((a) => a.spec?.peers ?? []));
  const targets = ads.some((a) => !a.spec?.peers?.length)
    ? peers
    : peers.filter((p) => named.has(p.metadata?.name ?? ''));
  const missing = [...named].filter((n) => !peers.some((p) => p.metadata?.name === n)).sort();
  const parts: string[] = [];
  if (missing.length) parts.push(`no BGPPeer named ${missing.join(', ')} exists`);
  if (targets.length === 0 && !missing.length) parts.push('no BGPPeer exists');
  const sessionNodes = new Map<string, string[]>();
  for (const s of input.bgpSessions ?? []) {
    const r = sessionRow(s, ctx.liveSpeakers);
    sessionNodes.set(r.peer, [...(sessionNodes.get(r.peer) ?? []), r.node]);
  }
  for (const p of [...targets].sort((a, b) =>
    (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1,
  )) {
    const name = p.metadata?.name ?? '';
    const on = sessionNodes.get(name);
    parts.push(
      on?.length
        ? `BGPPeer ${name} has sessions on ${on.sort().join(', ')}, none of them selected by the advertisements' nodeSelectors`
        : `BGPPeer ${name} has no session state on any node: ${whyNoSession(p, ctx)}`,
    );
  }
  return parts.join('; ');
}
