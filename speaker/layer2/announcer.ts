import { readFileSync } from 'node:fs';
import { openIcmp6Socket, openPacketSocket, type PacketSocket } from '../native/index.ts';
import { canonicalIP, parseIPv4 } from './addr.ts';
import { ETHERTYPE_ARP, gratuitousArp } from './arp.ts';
import { DEFAULT_GARP_SCHEDULE, type GarpSchedule, GarpTimers } from './garp.ts';
import { ALL_NODES, unsolicitedAdvertisement } from './ndp.ts';
import { answerNeighborSolicitation } from './ndp-responder.ts';
import { NdpSocket } from './ndp-socket.ts';
import { answerArp } from './responder.ts';

/**
 * The L2 shell: given the full set of (VIP, interfaces) this node must announce right now, it
 * opens/closes the per-interface sockets, answers ARP and NDP through the pure responders, and
 * runs the takeover announcements (GARP / unsolicited NA) on the GARP schedule. Level-based:
 * call announce() with the whole desired state whenever anything changes; it diffs.
 */

export interface Announcement {
  vip: string;
  interfaces: readonly string[];
}

export interface L2Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: L2Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface L2Stats {
  arpRequests: number;
  arpReplies: number;
  garpSent: number;
  ndpSolicitations: number;
  ndpAdvertisements: number;
  unsolicitedNaSent: number;
  conflicts: number;
  sendErrors: number;
}

export interface L2AnnouncerOptions {
  garp?: GarpSchedule;
  /** The node's own addresses; never answered for even if a VIP equals one. */
  nodeAddresses?: Iterable<string>;
  log?: L2Log;
  /** Injected for tests of the shell; default to the addon. */
  openPacket?: typeof openPacketSocket;
  openIcmp6?: typeof openIcmp6Socket;
  /** Called when another host claims one of our VIPs (ARP reply / GARP from a foreign MAC). */
  onConflict?: (e: { vip: string; ifname: string; mac: string }) => void;
}

export interface AnnounceFailure {
  vip: string;
  ifname: string;
  error: string;
}

interface IfaceState {
  ifname: string;
  arp: PacketSocket | undefined;
  ndp: NdpSocket | undefined;
  mac: string | undefined;
  owned4: Set<string>;
  owned6: Set<string>;
}

function sysfs(ifname: string, file: string): string {
  return readFileSync(`/sys/class/net/${ifname}/${file}`, 'utf8').trim();
}

export class L2Announcer {
  private readonly ifaces = new Map<string, IfaceState>();
  private readonly garp: GarpTimers;
  private nodeAddresses: Set<string>;
  private readonly log: L2Log;
  private readonly openPacket: typeof openPacketSocket;
  private readonly openIcmp6: typeof openIcmp6Socket;
  private readonly onConflict: NonNullable<L2AnnouncerOptions['onConflict']>;
  private closed = false;
  readonly stats: L2Stats = {
    arpRequests: 0,
    arpReplies: 0,
    garpSent: 0,
    ndpSolicitations: 0,
    ndpAdvertisements: 0,
    unsolicitedNaSent: 0,
    conflicts: 0,
    sendErrors: 0,
  };

  constructor(opts: L2AnnouncerOptions = {}) {
    this.garp = new GarpTimers(opts.garp ?? DEFAULT_GARP_SCHEDULE);
    this.nodeAddresses = canonicalSet(opts.nodeAddresses ?? []);
    this.log = opts.log ?? silent;
    this.openPacket = opts.openPacket ?? openPacketSocket;
    this.openIcmp6 = opts.openIcmp6 ?? openIcmp6Socket;
    this.onConflict = opts.onConflict ?? (() => {});
  }

  setNodeAddresses(addrs: Iterable<string>): void {
    this.nodeAddresses = canonicalSet(addrs);
  }

  /** What is announced now: VIP → interfaces. */
  current(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const st of this.ifaces.values()) {
      for (const vip of [...st.owned4, ...st.owned6])
        out.set(vip, [...(out.get(vip) ?? []), st.ifname].sort());
    }
    return out;
  }

  /**
   * Makes the announced set equal `desired`. New (VIP, interface) pairs start a GARP/NA burst
   * (takeover); pairs no longer desired stop answering at once. Returns the pairs that could not
   * be set up (e.g. the interface vanished); they are retried on the next call.
   */
  announce(desired: Iterable<Announcement>): AnnounceFailure[] {
    if (this.closed) throw new Error('L2Announcer is closed');
    const want = new Map<string, Set<string>>(); // ifname → VIPs
    const failures: AnnounceFailure[] = [];
    for (const a of desired) {
      const vip = canonicalIP(a.vip);
      if (!vip) {
        failures.push({ vip: a.vip, ifname: '', error: 'not an IP address' });
        continue;
      }
      for (const ifname of a.interfaces) {
        const set = want.get(ifname) ?? new Set<string>();
        want.set(ifname, set.add(vip));
      }
    }
    // Withdraw first, so an interface switch never answers on both.
    for (const st of this.ifaces.values()) {
      const keep = want.get(st.ifname) ?? new Set<string>();
      for (const vip of [...st.owned4, ...st.owned6]) if (!keep.has(vip)) this.withdraw(st, vip);
      this.closeIdle(st);
    }
    for (const [ifname, vips] of want) {
      for (const vip of vips) {
        const err = this.add(ifname, vip);
        if (err) failures.push({ vip, ifname, error: err });
      }
    }
    return failures;
  }

  private state(ifname: string): IfaceState {
    let st = this.ifaces.get(ifname);
    if (!st) {
      st = { ifname, arp: undefined, ndp: undefined, mac: undefined, owned4: new Set(), owned6: new Set() };
      this.ifaces.set(ifname, st);
    }
    return st;
  }

  private add(ifname: string, vip: string): string | undefined {
    const st = this.state(ifname);
    const v4 = parseIPv4(vip) !== undefined;
    if ((v4 ? st.owned4 : st.owned6).has(vip)) return undefined;
    try {
      if (v4) this.ensureArp(st);
      else this.ensureNdp(st);
    } catch (err) {
      this.log.warn({ ifname, vip, err: (err as Error).message }, 'cannot announce on interface');
      this.closeIdle(st);
      return (err as Error).message;
    }
    if (v4) st.owned4.add(vip);
    else {
      try {
        st.ndp!.join(vip);
      } catch (err) {
        this.closeIdle(st);
        return (err as Error).message;
      }
      st.owned6.add(vip);
    }
    this.log.info({ ifname, vip }, 'announcing');
    this.garp.start(`${ifname}|${vip}`, () => this.announceOnce(st, vip));
    return undefined;
  }

  private withdraw(st: IfaceState, vip: string): void {
    this.garp.stop(`${st.ifname}|${vip}`);
    if (st.owned4.delete(vip)) {
      this.log.info({ ifname: st.ifname, vip }, 'withdrawn');
    } else if (st.owned6.delete(vip)) {
      try {
        st.ndp?.leave(vip);
      } catch {
        // the socket may already be gone with the interface
      }
      this.log.info({ ifname: st.ifname, vip }, 'withdrawn');
    }
  }

  private closeIdle(st: IfaceState): void {
    if (st.owned4.size === 0 && st.arp) {
      st.arp.close();
      st.arp = undefined;
    }
    if (st.owned6.size === 0 && st.ndp) {
      st.ndp.close();
      st.ndp = undefined;
    }
    if (!st.arp && !st.ndp) this.ifaces.delete(st.ifname);
  }

  private ensureArp(st: IfaceState): void {
    if (st.arp) return;
    const sock = this.openPacket(st.ifname, ETHERTYPE_ARP, (frame) => this.onArpFrame(st, frame));
    st.arp = sock;
    st.mac = sock.mac;
  }

  private ensureNdp(st: IfaceState): void {
    if (st.ndp) return;
    st.mac ??= sysfs(st.ifname, 'address').toLowerCase();
    st.ndp = new NdpSocket(
      st.ifname,
      (msg, source, hops) => this.onSolicitation(st, msg, source, hops),
      this.openIcmp6,
    );
  }

  private onArpFrame(st: IfaceState, frame: Buffer): void {
    if (!st.mac) return;
    const v = answerArp(frame, { mac: st.mac, owned: st.owned4, nodeAddresses: this.nodeAddresses });
    if (v.action === 'reply') {
      this.stats.arpRequests++;
      try {
        st.arp?.send(v.reply);
        this.stats.arpReplies++;
      } catch (err) {
        this.stats.sendErrors++;
        this.log.warn({ ifname: st.ifname, err: (err as Error).message }, 'ARP reply failed');
      }
    } else if (v.reason === 'conflict' && v.packet) {
      this.stats.conflicts++;
      const vip = v.packet.senderIP;
      this.log.warn(
        { ifname: st.ifname, vip, mac: v.packet.senderMac },
        'another host claims an announced VIP',
      );
      this.onConflict({ vip, ifname: st.ifname, mac: v.packet.senderMac });
    } else if (v.reason === 'not-owned' || v.reason === 'node-address') {
      this.stats.arpRequests++;
    }
  }

  private onSolicitation(st: IfaceState, msg: Buffer, source: string, hopLimit: number): void {
    if (!st.mac) return;
    this.stats.ndpSolicitations++;
    const v = answerNeighborSolicitation(msg, source, hopLimit, {
      mac: st.mac,
      owned: st.owned6,
      nodeAddresses: this.nodeAddresses,
    });
    if (v.action !== 'reply') return;
    try {
      st.ndp?.send(v.destination, v.message, v.solicitation.target);
      this.stats.ndpAdvertisements++;
    } catch (err) {
      this.stats.sendErrors++;
      this.log.warn({ ifname: st.ifname, err: (err as Error).message }, 'NA send failed');
    }
  }

  private announceOnce(st: IfaceState, vip: string): void {
    if (!st.mac) return;
    if (st.owned4.has(vip) && st.arp) {
      try {
        st.arp.send(gratuitousArp(st.mac, vip));
        this.stats.garpSent++;
      } catch (err) {
        this.stats.sendErrors++;
        this.log.warn({ ifname: st.ifname, vip, err: (err as Error).message }, 'GARP failed');
      }
    } else if (st.owned6.has(vip) && st.ndp) {
      try {
        st.ndp.send(ALL_NODES, unsolicitedAdvertisement(vip, st.mac), vip);
        this.stats.unsolicitedNaSent++;
      } catch (err) {
        this.stats.sendErrors++;
        this.log.warn({ ifname: st.ifname, vip, err: (err as Error).message }, 'unsolicited NA failed');
      }
    }
  }

  /** Stops everything at once (no goodbye frames: the new owner's GARP does the handover). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.garp.stopAll();
    for (const st of this.ifaces.values()) {
      st.arp?.close();
      st.ndp?.close();
    }
    this.ifaces.clear();
  }
}

function canonicalSet(addrs: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const a of addrs) {
    const c = canonicalIP(a);
    if (c) out.add(c);
  }
  return out;
}
