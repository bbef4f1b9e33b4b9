import { collectionPath, isConflict, isNotFound, type KubeClient, objectPath, Resources } from './client.ts';
import { sleep } from './informer.ts';
import { errInfo, type KubeLogger, noopLogger } from './log.ts';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's safety rules:
 *  - a candidate judges expiry by its OWN clock: the lease is held until `leaseDuration` has
 *    passed since this candidate last saw the record change (never by comparing renewTime with
 *    local time, which would trust clock sync between nodes);
 *  - writes carry metadata.resourceVersion, so two candidates racing for a free lease cannot both
 *    win: the loser gets 409 Conflict and simply tries again next period;
 *  - the leader gives up (onStoppedLeading) when it has not renewed for `renewDeadline`, which
 *    must be shorter than `leaseDuration`: it stops acting before anyone else may start;
 *  - release() writes an empty holder so a standby takes over on its next poll, not after expiry.
 */

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

export type LeaseState = 'free' | 'mine' | 'held' | 'expired';

/**
 * Pure: who may take the lease now? `observedAt` is the local time (ms) at which this candidate
 * last saw the record change.
 */
export function leaseState(
  record: LeaseRecord | undefined,
  observedAt: number,
  now: number,
  identity: string,
): LeaseState {
  const holder = record?.holderIdentity ?? '';
  if (holder === '') return 'free';
  if (holder === identity) return 'mine';
  const durationMs = (record?.leaseDurationSeconds ?? 0) * 1000;
  return observedAt + durationMs > now ? 'held' : 'expired';
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  return (
    (a?.holderIdentity ?? '') === (b?.holderIdentity ?? '') &&
    a?.renewTime === b?.renewTime &&
    a?.acquireTime === b?.acquireTime &&
    a?.leaseDurationSeconds === b?.leaseDurationSeconds &&
    a?.leaseTransitions === b?.leaseTransitions
  );
}

export interface LeaderCallbacks {
  /** Became leader. `signal` aborts when leadership is lost or the elector stops. */
  onStartedLeading?(signal: AbortSignal): void;
  /** Was leader, is not any more (lost renew deadline, released, or stopped). */
  onStoppedLeading?(): void;
  /** The observed holder changed (including to ourselves). '' = nobody. */
  onNewLeader?(identity: string): void;
}

export interface LeaseElectorOptions extends LeaderCallbacks {
  namespace: string;
  name: string;
  /** Unique per replica (pod name + random suffix is typical). */
  identity: string;
  /** How long a lease is honoured without renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** Leader steps down if it could not renew for this long. Default 10 s; must be < leaseDuration. */
  renewDeadlineMs?: number;
  /** Poll / renew period. Default 2 s; must be < renewDeadline. */
  retryPeriodMs?: number;
  logger?: KubeLogger;
  now?: () => number;
  random?: () => number;
}

export class LeaseElector {
  readonly identity: string;
  private readonly client: KubeClient;
  private readonly o: Required<
    Pick<LeaseElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>
  > &
    LeaseElectorOptions;
  private readonly log: KubeLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly stopCtl = new AbortController();
  private leading: AbortController | undefined;
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private observedRv: string | undefined;
  private lastRenew = 0;
  private reportedLeader: string | undefined;
  private loop: Promise<void> | undefined;

  constructor(client: KubeClient, opts: LeaseElectorOptions) {
    const leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(renewDeadlineMs < leaseDurationMs))
      throw new RangeError('renewDeadline must be shorter than leaseDuration');
    if (!(retryPeriodMs < renewDeadlineMs))
      throw new RangeError('retryPeriod must be shorter than renewDeadline');
    if (leaseDurationMs < 1000) throw new RangeError('leaseDuration must be at least 1 s');
    if (!opts.identity) throw new Error('leader election needs a non-empty identity');
    this.client = client;
    this.o = { ...opts, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.identity = opts.identity;
    this.log = opts.logger ?? noopLogger;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }
  /** Last observed holder ('' = none, undefined = not observed yet). */
  leader(): string | undefined {
    return this.observed ? (this.observed.holderIdentity ?? '') : undefined;
  }

  start(): void {
    if (this.loop || this.stopCtl.signal.aborted) return;
    this.loop = this.run().catch((err) =>
      this.log.error({ lease: this.o.name, ...errInfo(err) }, 'elector crashed'),
    );
  }

  /**
   * Stop campaigning. By default a leader releases the lease so a standby takes over at once
   * (call this from the SIGTERM handler). `{ release: false }` simulates a crash.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
    if (this.leading) {
      if (opts.release ?? true) await this.writeRelease();
      else this.stepDown('stopped');
    }
  }

  /**
   * Give up leadership now and stop campaigning (otherwise we would re-acquire the free lease on
   * the next poll): holder := '' with a 1 s duration, then onStoppedLeading. Same as stop().
   */
  release(): Promise<void> {
    return this.stop({ release: true });
  }

  private async writeRelease(): Promise<void> {
    if (!this.leading || !this.observed) return;
    const path = objectPath(Resources.leases, this.o.namespace, this.o.name);
    const put = (rv: string | undefined, transitions: number) => {
      const now = this.now();
      const body: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace, resourceVersion: rv },
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: transitions,
        },
      };
      return this.client.request<Lease>({ method: 'PUT', path, body, timeoutMs: this.o.renewDeadlineMs });
    };
    try {
      try {
        await put(this.observedRv, this.observed.leaseTransitions ?? 0);
      } catch (err) {
        // 409: usually our own renew, aborted by stop() after the server applied it, moved the
        // resourceVersion on. Re-read: if the lease is still ours, release that version.
        if (!isConflict(err)) throw err;
        const current = await this.client.request<Lease>({ path, timeoutMs: this.o.renewDeadlineMs });
        if (current.spec?.holderIdentity !== this.identity) throw err;
        await put(current.metadata?.resourceVersion, current.spec?.leaseTransitions ?? 0);
      }
      this.log.info({ lease: this.o.name, identity: this.identity }, 'released lease');
    } catch (err) {
      // Someone else took it or the API is unreachable: the lease expires anyway.
      this.log.warn({ lease: this.o.name, ...errInfo(err) }, 'lease release failed');
    }
    this.stepDown('released');
  }

  private async run(): Promise<void> {
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew();
      if (signal.aborted) return;
      const now = this.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = new AbortController();
          this.log.info({ lease: this.o.name, identity: this.identity }, 'became leader');
          try {
            this.o.onStartedLeading?.(this.leading.signal);
          } catch (err) {
            this.log.error({ ...errInfo(err) }, 'onStartedLeading threw');
          }
        }
      } else if (this.leading && now - this.lastRenew >= this.o.renewDeadlineMs) {
        this.stepDown('renew deadline exceeded');
      }
      // Candidates poll with jitter so replicas do not hit the API in lockstep; the leader renews steadily.
      const wait = this.leading ? this.o.retryPeriodMs : this.o.retryPeriodMs * (1 + 0.2 * this.random());
      await sleep(wait, signal);
    }
  }

  private stepDown(why: string): void {
    const l = this.leading;
    if (!l) return;
    this.leading = undefined;
    l.abort(new Error(`leadership lost: ${why}`));
    this.log.warn({ lease: this.o.name, identity: this.identity, why }, 'stopped leading');
    try {
      this.o.onStoppedLeading?.();
    } catch (err) {
      this.log.error({ ...errInfo(err) }, 'onStoppedLeading threw');
    }
  }

  private observe(lease: Lease): void {
    const rec = lease.spec ?? {};
    if (!this.observed || !sameRecord(this.observed, rec)) {
      this.observed = { ...rec };
      this.observedAt = this.now();
    }
    this.observedRv = lease.metadata?.resourceVersion;
    const holder = rec.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.o.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ ...errInfo(err) }, 'onNewLeader threw');
      }
    }
  }

  /** One round: true if we hold the lease after it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = objectPath(Resources.leases, this.o.namespace, this.o.name);
    // A request must not outlive the time we may still act as leader.
    const timeoutMs = this.leading
      ? Math.max(500, this.o.renewDeadlineMs - (this.now() - this.lastRenew))
      : this.o.renewDeadlineMs;
    const signal = this.stopCtl.signal;
    const now = this.now();
    const mine = (prev?: LeaseRecord): LeaseRecord => {
      const keep = prev?.holderIdentity === this.identity;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
        acquireTime: keep && prev?.acquireTime ? prev.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: keep ? (prev?.leaseTransitions ?? 0) : (prev?.leaseTransitions ?? -1) + 1,
      };
    };
    let current: Lease;
    try {
      current = await this.client.request<Lease>({ path, timeoutMs, signal });
    } catch (err) {
      if (!isNotFound(err)) {
        if (!signal.aborted) this.log.warn({ lease: this.o.name, ...errInfo(err) }, 'reading lease failed');
        return false;
      }
      try {
        const created = await this.client.request<Lease>({
          method: 'POST',
          path: collectionPath(Resources.leases, this.o.namespace),
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.o.name, namespace: this.o.namespace },
            spec: mine(),
          },
          timeoutMs,
          signal,
        });
        this.observe(created);
        return true;
      } catch (e) {
        if (!isConflict(e) && !signal.aborted)
          this.log.warn({ lease: this.o.name, ...errInfo(e) }, 'creating lease failed');
        return false;
      }
    }
    this.observe(current);
    const state = leaseState(current.spec, this.observedAt, this.now(), this.identity);
    if (state === 'held') {
      // Someone else holds it while we believe we lead (e.g. our renewals were lost and it expired
      // for them): stop acting now rather than at our renew deadline.
      if (this.leading) this.stepDown(`lease held by ${current.spec?.holderIdentity}`);
      return false;
    }
    // 'mine' includes a lease held by this identity in a previous life of the process: renew it.
    try {
      const updated = await this.client.request<Lease>({
        method: 'PUT',
        path,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...current.metadata, name: this.o.name, namespace: this.o.namespace },
          spec: { ...current.spec, ...mine(current.spec) },
        },
        timeoutMs,
        signal,
      });
      this.observe(updated);
      return true;
    } catch (err) {
      // 409: someone else wrote first (their renew or a competing acquire). Try again next period.
      if (!signal.aborted) {
        const level = isConflict(err) ? 'debug' : 'warn';
        this.log[level]({ lease: this.o.name, ...errInfo(err) }, 'lease update failed');
      }
      return false;
    }
  }
}
