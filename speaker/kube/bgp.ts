// The speaker's BGP shell: on every cache change plan() says which peers this node talks to and
// which prefixes each gets; this file keeps one BgpPeer per planned peer (a changed configuration
// is a new session, changed routes are UPDATEs on the same one), and turns each session's status
// into its BGPSessionState (server-side apply), Events on the BGPPeer, and metrics. Decisions live
// in speaker/bgp/plan.ts and bgp-project.ts (pure); the protocol in speaker/bgp/peer.ts.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import {
  type SecretLike,
  sessionStateBody,
  sessionStateName,
  sessionStateStatusBody,
} from '../../lib/api/bgp.ts';
import { API_VERSION, FIELD_MANAGERS, GROUP, KINDS, PLURALS, VERSION } from '../../lib/api/group.ts';
import type { BGPAdvertisement, BGPPeer, IPAddressPool } from '../../lib/api/types.ts';
import {
  APPLY_PATCH,
  type EventRecorder,
  isNotFound,
  type KubeClient,
  type KubeObject,
  objectPath,
  type ResourceRef,
} from '../../lib/kube/index.ts';
import { metricName } from '../../lib/observe/metrics.ts';
import { BgpPeer, type PeerStatus } from '../bgp/peer.ts';
import { type PeerPlan, type Problem, plan } from '../bgp/plan.ts';
import type { SpeakerFacts } from '../engine.ts';
import { peerPasswords, planServices, sessionKey, sessionStateStatus } from './bgp-project.ts';
import { type NodeLike, nodeHeartbeatAddress } from './project.ts';

const crd = (kind: 'BGPPeer' | 'BGPAdvertisement' | 'BGPSessionState'): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural: PLURALS[kind],
  namespaced: false,
  kind: KINDS[kind],
});

export const BGP_RESOURCES = {
  peers: crd('BGPPeer'),
  advertisements: crd('BGPAdvertisement'),
  sessionStates: crd('BGPSessionState'),
} as const;

export const BGP_EVENT_REASONS = {
  established: 'BGPSessionEstablished',
  down: 'BGPSessionDown',
  problem: 'BGPConfigInvalid',
} as const;

export interface BgpInputs {
  facts: SpeakerFacts;
  node: (NodeLike & KubeObject) | undefined;
  peers: readonly (BGPPeer & KubeObject)[];
  advertisements: readonly (BGPAdvertisement & KubeObject)[];
  pools: readonly IPAddressPool[];
  secrets: readonly SecretLike[];
  /** Objects by "Kind/name" (or "Service/ns/name") for Events about plan problems. */
  lookup: (object: string) => KubeObject | undefined;
}

export interface BgpShellOptions {
  node: string;
  namespace: string;
  client: KubeClient;
  events: EventRecorder;
  log: Logger;
  registry: Registry;
  /** For tests: a factory instead of `new BgpPeer`. */
  newPeer?: (plan: PeerPlan, log: Logger) => BgpPeer;
}

interface Session {
  key: string;
  plan: PeerPlan;
  peer: BgpPeer;
  uid: string | undefined;
  last: PeerStatus;
  lastTransitionMs: number;
  writePending: boolean;
  /** BGPSessionState exists with our labels and owners (the first write creates it). */
  created: boolean;
}

export class BgpShell {
  private readonly o: BgpShellOptions;
  private readonly sessions = new Map<string, Session>();
  private readonly stopping = new Set<Promise<void>>();
  private problems = new Set<string>();
  private closed = false;
  private nodeUid: string | undefined;
  private node: NodeLike | undefined;

  constructor(o: BgpShellOptions) {
    this.o = o;
    const sessions = this.sessions;
    new Gauge({
      name: metricName('speaker_bgp_session_up'),
      help: 'BGP sessions of this node: 1 when Established',
      labelNames: ['peer'],
      registers: [o.registry],
      collect() {
        this.reset();
        for (const [name, s] of sessions) this.set({ peer: name }, s.last.state === 'Established' ? 1 : 0);
      },
    });
    new Gauge({
      name: metricName('speaker_bgp_prefixes_advertised'),
      help: 'Prefixes this node advertises on each BGP session',
      labelNames: ['peer'],
      registers: [o.registry],
      collect() {
        this.reset();
        for (const [name, s] of sessions) this.set({ peer: name }, s.last.prefixesSent);
      },
    });
  }

  /** Peer names with a session (tests, logs). */
  peers(): string[] {
    return [...this.sessions.keys()].sort();
  }

  status(peer: string): PeerStatus | undefined {
    return this.sessions.get(peer)?.peer.status();
  }

  /** Level-based: the whole desired state from the caches, every time. */
  update(input: BgpInputs): void {
    if (this.closed) return;
    this.nodeUid = input.node?.metadata?.uid;
    this.node = input.node;
    const { passwords, errors } = peerPasswords(input.peers, input.secrets, this.o.namespace);
    const routerId = nodeHeartbeatAddress(input.node, 4);
    const p = plan({
      node: { name: this.o.node, labels: input.node?.metadata?.labels ?? {} },
      peers: input.peers,
      advertisements: input.advertisements,
      pools: input.pools,
      services: planServices(input.facts, this.o.node),
      passwords,
      passwordErrors: errors,
      defaults: { namespace: this.o.namespace, ...(routerId ? { routerId } : {}) },
    });
    this.report(p.problems, input.lookup);
    const uids = new Map(input.peers.map((x) => [x.metadata?.name ?? '', x.metadata?.uid]));
    const want = new Map(p.peers.map((x) => [x.name, x]));
    for (const [name, s] of this.sessions) {
      const next = want.get(name);
      if (!next || sessionKey(next) !== s.key) {
        this.o.log.info(
          { peer: name, reason: next ? 'configuration changed' : 'no longer planned' },
          'BGP session ends',
        );
        this.sessions.delete(name);
        this.retire(s, !next);
      }
    }
    for (const [name, pp] of want) {
      const s = this.sessions.get(name);
      if (s) {
        s.plan = pp;
        s.uid = uids.get(name);
        s.peer.setRoutes(pp.routes);
        continue;
      }
      this.open(pp, uids.get(name));
    }
  }

  private open(pp: PeerPlan, uid: string | undefined): void {
    const log = this.o.log.child({ bgpPeer: pp.name, peerAddress: pp.peerAddress });
    const peer =
      this.o.newPeer?.(pp, log) ??
      new BgpPeer({
        config: pp.config,
        peerAddress: pp.peerAddress,
        peerPort: pp.peerPort,
        ...(pp.sourceAddress ? { sourceAddress: pp.sourceAddress } : {}),
        ...(pp.password !== undefined ? { password: pp.password } : {}),
        ebgpMultiHop: pp.ebgpMultiHop,
        // The other family's next hop comes from the Node (IPv6 VIPs over an IPv4 session and back).
        ...this.otherFamilyNextHop(pp.peerAddress),
        log,
      });
    const s: Session = {
      key: sessionKey(pp),
      plan: pp,
      peer,
      uid,
      last: peer.status(),
      lastTransitionMs: Date.now(),
      writePending: false,
      created: false,
    };
    this.sessions.set(pp.name, s);
    peer.on('status', (st: PeerStatus) => this.onStatus(s, st));
    peer.start();
    peer.setRoutes(pp.routes);
    this.scheduleWrite(s);
  }

  private otherFamilyNextHop(peerAddress: string): { nextHopV4?: string; nextHopV6?: string[] } {
    if (peerAddress.includes(':')) {
      const v4 = nodeHeartbeatAddress(this.node, 4);
      return v4 ? { nextHopV4: v4 } : {};
    }
    const v6 = nodeHeartbeatAddress(this.node, 6);
    return v6 ? { nextHopV6: [v6] } : {};
  }

  private onStatus(s: Session, st: PeerStatus): void {
    const prev = s.last;
    s.last = { ...st };
    if (prev.state !== st.state) {
      s.lastTransitionMs = Date.now();
      const regarding = this.peerObject(s);
      if (st.state === 'Established') {
        this.o.events.normal(
          regarding,
          BGP_EVENT_REASONS.established,
          `node ${this.o.node}: session with ${s.plan.peerAddress} Established`,
          'Connect',
        );
      } else if (prev.state === 'Established') {
        this.o.events.warning(
          regarding,
          BGP_EVENT_REASONS.down,
          `node ${this.o.node}: session with ${s.plan.peerAddress} down${st.lastError ? `: ${st.lastError}` : ''}`,
          'Connect',
        );
      }
      this.o.log.info(
        { peer: s.plan.name, from: prev.state, to: st.state, err: st.lastError },
        'BGP session state',
      );
    }
    if (this.sessions.get(s.plan.name) === s) this.scheduleWrite(s);
  }

  private peerObject(s: Session): KubeObject {
    return {
      apiVersion: API_VERSION,
      kind: 'BGPPeer',
      metadata: { name: s.plan.name, ...(s.uid ? { uid: s.uid } : {}) },
    } as KubeObject;
  }

  /** Coalesces a burst of status changes into one write per 200 ms per session. */
  private scheduleWrite(s: Session): void {
    if (s.writePending || this.closed) return;
    s.writePending = true;
    setTimeout(() => {
      s.writePending = false;
      if (this.closed || this.sessions.get(s.plan.name) !== s) return;
      this.write(s).catch((err: unknown) => {
        this.o.log.warn({ peer: s.plan.name, err: (err as Error).message }, 'cannot write BGPSessionState');
        setTimeout(() => this.scheduleWrite(s), 2000).unref();
      });
    }, 200).unref();
  }

  private async write(s: Session): Promise<void> {
    const name = sessionStateName(this.o.node, s.plan.name);
    const res = BGP_RESOURCES.sessionStates;
    if (!s.created) {
      // Owned by the Node and the BGPPeer (garbage-collected when either goes); both exist by now,
      // a missing uid (an object not yet in the cache) only leaves the owners out.
      const body =
        this.nodeUid && s.uid
          ? sessionStateBody({ name: this.o.node, uid: this.nodeUid }, { name: s.plan.name, uid: s.uid })
          : { apiVersion: API_VERSION, kind: res.kind, metadata: { name } };
      await this.apply(objectPath(res, undefined, name), body);
      s.created = true;
    }
    await this.apply(
      objectPath(res, undefined, name, 'status'),
      sessionStateStatusBody(
        name,
        sessionStateStatus(this.o.node, s.plan.name, s.plan.peerAddress, s.last, s.lastTransitionMs),
      ),
    );
  }

  private async apply(path: string, body: unknown): Promise<void> {
    await this.o.client.request({
      method: 'PATCH',
      path,
      query: { fieldManager: FIELD_MANAGERS.speaker, force: true },
      contentType: APPLY_PATCH,
      body,
      timeoutMs: 10_000,
    });
  }

  /** Stops a session (graceful: withdraw first) and, when the peer is gone for good, deletes its state. */
  private retire(s: Session, deleteState: boolean): void {
    const done = s.peer
      .stop({ graceful: true })
      .catch((err: unknown) => this.o.log.warn({ peer: s.plan.name, err: String(err) }, 'BGP stop failed'))
      .then(async () => {
        if (!deleteState || this.closed) return;
        const path = objectPath(
          BGP_RESOURCES.sessionStates,
          undefined,
          sessionStateName(this.o.node, s.plan.name),
        );
        await this.o.client.request({ method: 'DELETE', path, timeoutMs: 10_000 }).catch((err: unknown) => {
          if (!isNotFound(err))
            this.o.log.warn({ err: (err as Error).message }, 'cannot delete BGPSessionState');
        });
      });
    this.stopping.add(done);
    void done.finally(() => this.stopping.delete(done));
  }

  /** One Warning Event per distinct problem while it lasts (a problem that returns is reported again). */
  private report(problems: readonly Problem[], lookup: (object: string) => KubeObject | undefined): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = `${p.object}\u0000${p.message}`;
      now.add(id);
      if (this.problems.has(id)) continue;
      this.o.log.warn({ object: p.object, problem: p.message }, 'BGP configuration problem');
      const obj = lookup(p.object);
      if (obj) this.o.events.warning(obj, BGP_EVENT_REASONS.problem, p.message, 'Plan');
    }
    this.problems = now;
  }

  /**
   * graceful: every session withdraws its routes and says Cease/Administrative Shutdown, so routers
   * move traffic to the other nodes before this one goes (make-before-break); else sockets just close
   * and routers fall back on hold-time expiry. A graceful stop leaves the BGPSessionStates saying Idle.
   */
  async stop({ graceful }: { graceful: boolean }): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all([
      ...all.map((s) =>
        s.peer
          .stop({ graceful })
          .catch((err: unknown) =>
            this.o.log.warn({ peer: s.plan.name, err: String(err) }, 'BGP stop failed'),
          ),
      ),
      ...this.stopping,
    ]);
    if (!graceful) return;
    // Best effort, bounded: `kubectl get bgpsessionstates` should not say Established for a
    // stopped speaker until it comes back.
    const idle = all
      .filter((s) => s.created)
      .map((s) => {
        s.last = { ...s.last, state: 'Idle', lastError: 'speaker stopped' };
        s.lastTransitionMs = Date.now();
        return this.write(s).catch(() => {});
      });
    await Promise.race([Promise.all(idle), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
