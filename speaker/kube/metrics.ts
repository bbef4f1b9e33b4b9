// Speaker metrics. The L2 and heartbeat counters live in the engine's own stats objects (plain
// numbers, no prom-client in the hot path); they are copied into the registry at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../../lib/observe/metrics.ts';
import type { L2Stats } from '../layer2/announcer.ts';
import type { MembershipStats } from '../membership/membership.ts';

export interface MetricSources {
  l2: () => L2Stats;
  heartbeat: () => MembershipStats;
  vipsOwned: () => number;
  /** The VIPs this node announces now (one gauge series each: alerts compare them per VIP). */
  vipsAnnounced?: () => Iterable<string>;
  peersAlive: () => number;
  peersConfigured: () => number;
}

/** A counter mirroring a monotonically growing number read at scrape time. */
function mirrored(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Array<{ labels: Record<string, string>; value: number }>,
  labelNames: string[] = [],
): Counter {
  return new Counter({
    name: metricName(name),
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.inc(v);
      else for (const x of v) this.inc(x.labels, x.value);
    },
  });
}

export class SpeakerMetrics {
  readonly ownershipChanges: Counter;
  readonly statusWrites: Counter;

  constructor(registry: Registry, src: MetricSources) {
    mirrored(
      registry,
      'speaker_arp_requests_received_total',
      'ARP requests seen on announcing interfaces',
      () => src.l2().arpRequests,
    );
    mirrored(
      registry,
      'speaker_arp_replies_sent_total',
      'ARP replies sent for owned VIPs',
      () => src.l2().arpReplies,
    );
    mirrored(
      registry,
      'speaker_garp_sent_total',
      'Gratuitous ARP frames sent (takeover burst + refresh)',
      () => src.l2().garpSent,
    );
    mirrored(
      registry,
      'speaker_ndp_solicitations_received_total',
      'Neighbor Solicitations seen on announcing interfaces',
      () => src.l2().ndpSolicitations,
    );
    mirrored(
      registry,
      'speaker_ndp_advertisements_sent_total',
      'Neighbor Advertisements sent for owned IPv6 VIPs',
      () => [
        { labels: { kind: 'solicited' }, value: src.l2().ndpAdvertisements },
        { labels: { kind: 'unsolicited' }, value: src.l2().unsolicitedNaSent },
      ],
      ['kind'],
    );
    mirrored(
      registry,
      'speaker_vip_conflicts_total',
      'Frames from another host claiming an owned VIP',
      () => src.l2().conflicts,
    );
    mirrored(
      registry,
      'speaker_l2_send_errors_total',
      'ARP/NDP frames that failed to send',
      () => src.l2().sendErrors,
    );
    mirrored(
      registry,
      'speaker_heartbeats_sent_total',
      'Heartbeat datagrams sent',
      () => src.heartbeat().sent,
    );
    mirrored(
      registry,
      'speaker_heartbeats_received_total',
      'Heartbeat datagrams received',
      () => src.heartbeat().received,
    );
    mirrored(
      registry,
      'speaker_heartbeats_dropped_total',
      'Heartbeat datagrams dropped, by reason (bad-mac = forged or wrong key, replay, unknown-peer, ...)',
      () => Object.entries(src.heartbeat().dropped).map(([reason, value]) => ({ labels: { reason }, value })),
      ['reason'],
    );
    new Gauge({
      name: metricName('speaker_vips_owned'),
      help: 'VIPs this node announces now',
      registers: [registry],
      collect() {
        this.set(src.vipsOwned());
      },
    });
    new Gauge({
      name: metricName('speaker_vip_announced'),
      help: 'One series per VIP this node announces now (value 1); summed by vip across nodes it is the number of announcers',
      labelNames: ['vip'],
      registers: [registry],
      collect() {
        this.reset();
        for (const vip of src.vipsAnnounced?.() ?? []) this.set({ vip }, 1);
      },
    });
    new Gauge({
      name: metricName('speaker_peers_alive'),
      help: 'Peers (other speakers) heard within the dead timeout',
      registers: [registry],
      collect() {
        this.set(src.peersAlive());
      },
    });
    new Gauge({
      name: metricName('speaker_peers_configured'),
      help: 'Peers discovered through their speaker Leases',
      registers: [registry],
      collect() {
        this.set(src.peersConfigured());
      },
    });
    this.ownershipChanges = new Counter({
      name: metricName('speaker_ownership_changes_total'),
      help: 'VIP owner changes seen by this speaker (any node), by direction for this node',
      labelNames: ['direction'],
      registers: [registry],
    });
    this.statusWrites = new Counter({
      name: metricName('speaker_status_writes_total'),
      help: 'Announced condition applies, by result',
      labelNames: ['result'],
      registers: [registry],
    });
  }
}
