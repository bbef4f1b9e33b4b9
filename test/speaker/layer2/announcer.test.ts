import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseIPv6 } from '../../../speaker/layer2/addr.ts';
import { L2Announcer } from '../../../speaker/layer2/announcer.ts';
import { ARP_REQUEST, encodeArp, parseArp } from '../../../speaker/layer2/arp.ts';
import type { Icmp6Socket, PacketSocket } from '../../../speaker/native/index.ts';

// The shell with fake sockets: what it opens, sends and closes as the desired state changes.
class FakePacket implements PacketSocket {
  sent: Buffer[] = [];
  closed = false;
  readonly ifindex = 2;
  readonly mac: string;
  readonly ifname: string;
  readonly onFrame: (f: Buffer) => void;
  constructor(ifname: string, onFrame: (f: Buffer) => void) {
    this.ifname = ifname;
    this.mac = ifname === 'eth0' ? '02:00:00:00:01:01' : '02:00:00:00:01:02';
    this.onFrame = onFrame;
  }
  send(frame: Buffer): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(frame);
  }
  close(): void {
    this.closed = true;
  }
}

function harness() {
  const sockets: FakePacket[] = [];
  const announcer = new L2Announcer({
    garp: { burstMs: [0, 100], refreshMs: 0 },
    nodeAddresses: ['192.0.2.2'],
    openPacket: (ifname, ethertype, onFrame) => {
      expect(ethertype).toBe(0x0806);
      if (ifname === 'gone0') throw new Error('open: no such interface: No such device');
      const s = new FakePacket(ifname, onFrame);
      sockets.push(s);
      return s;
    },
  });
  return { announcer, sockets };
}

const whoHas = (ip: string): Buffer =>
  encodeArp({
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: '02:00:00:00:0c:01',
    op: ARP_REQUEST,
    senderMac: '02:00:00:00:0c:01',
    senderIP: '192.0.2.100',
    targetMac: '00:00:00:00:00:00',
    targetIP: ip,
  });

describe('L2Announcer (shell, fake sockets)', () => {
  afterEach(() => vi.useRealTimers());

  it('opens one socket per interface, GARPs on takeover, answers only owned VIPs', () => {
    vi.useFakeTimers();
    const { announcer, sockets } = harness();
    expect(
      announcer.announce([
        { vip: '192.0.2.10', interfaces: ['eth0'] },
        { vip: '192.0.2.11', interfaces: ['eth0'] },
      ]),
    ).toEqual([]);
    expect(sockets).toHaveLength(1);
    const s = sockets[0]!;
    // Burst slot 0 for both VIPs right away, slot 100 ms later.
    expect(s.sent.map((f) => parseArp(f)!.senderIP)).toEqual(['192.0.2.10', '192.0.2.11']);
    vi.advanceTimersByTime(100);
    expect(s.sent).toHaveLength(4);
    expect(announcer.stats.garpSent).toBe(4);
    s.sent = [];
    s.onFrame(whoHas('192.0.2.10'));
    s.onFrame(whoHas('192.0.2.12'));
    s.onFrame(whoHas('192.0.2.2'));
    expect(s.sent.map((f) => parseArp(f))).toEqual([
      expect.objectContaining({ op: 2, senderIP: '192.0.2.10', senderMac: '02:00:00:00:01:01' }),
    ]);
    expect(announcer.stats.arpReplies).toBe(1);
    expect(announcer.current()).toEqual(
      new Map([
        ['192.0.2.10', ['eth0']],
        ['192.0.2.11', ['eth0']],
      ]),
    );
    announcer.close();
    expect(s.closed).toBe(true);
  });

  it('withdraws at once, closes idle sockets, and an interface move re-announces on the new one', () => {
    vi.useFakeTimers();
    const { announcer, sockets } = harness();
    announcer.announce([{ vip: '192.0.2.10', interfaces: ['eth0'] }]);
    const eth0 = sockets[0]!;
    announcer.announce([{ vip: '192.0.2.10', interfaces: ['eth1'] }]);
    expect(eth0.closed).toBe(true);
    const eth1 = sockets[1]!;
    expect(eth1.ifname).toBe('eth1');
    expect(parseArp(eth1.sent[0]!)).toMatchObject({ senderIP: '192.0.2.10', senderMac: '02:00:00:00:01:02' });
    eth1.sent = [];
    announcer.announce([]);
    expect(eth1.closed).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(eth1.sent).toEqual([]); // no GARP after withdrawal
    expect(announcer.current().size).toBe(0);
  });

  it('is level-based: the same desired state twice does not restart the burst', () => {
    vi.useFakeTimers();
    const { announcer, sockets } = harness();
    announcer.announce([{ vip: '192.0.2.10', interfaces: ['eth0'] }]);
    announcer.announce([{ vip: '192.0.2.10', interfaces: ['eth0'] }]);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.sent).toHaveLength(1);
  });

  it('reports interfaces it cannot open and bad VIPs, and keeps the rest', () => {
    const { announcer, sockets } = harness();
    const failures = announcer.announce([
      { vip: '192.0.2.10', interfaces: ['gone0', 'eth0'] },
      { vip: 'not-an-ip', interfaces: ['eth0'] },
    ]);
    expect(failures).toEqual([
      { vip: 'not-an-ip', ifname: '', error: 'not an IP address' },
      { vip: '192.0.2.10', ifname: 'gone0', error: expect.stringMatching(/no such interface/) },
    ]);
    expect(announcer.current()).toEqual(new Map([['192.0.2.10', ['eth0']]]));
    expect(sockets).toHaveLength(1);
    announcer.close();
  });

  it('IPv6: joins the solicited-node group, sends the unsolicited NA from the VIP, leaves on withdraw', () => {
    const calls: string[] = [];
    let handler: ((m: Buffer, s: string, h: number) => void) | undefined;
    const fake: Icmp6Socket = {
      ifname: 'lo',
      ifindex: 1,
      send: (dst, msg, src) =>
        calls.push(`send ${dst.toString('hex')} type=${msg[0]} src=${src?.toString('hex')}`),
      join: (g) => calls.push(`join ${g.toString('hex')}`),
      leave: (g) => calls.push(`leave ${g.toString('hex')}`),
      close: () => calls.push('close'),
    };
    // `lo` exists everywhere, so the shell can read its MAC from sysfs.
    const announcer = new L2Announcer({
      garp: { burstMs: [0], refreshMs: 0 },
      openIcmp6: (_if, types, onMessage) => {
        expect(types).toEqual([135]);
        handler = onMessage;
        return fake;
      },
    });
    announcer.announce([{ vip: '2001:db8::abcd:10', interfaces: ['lo'] }]);
    const vip = parseIPv6('2001:db8::abcd:10')!.toString('hex');
    expect(calls).toEqual([
      `join ff0200000000000000000001ffcd0010`,
      `send ff020000000000000000000000000001 type=136 src=${vip}`,
    ]);
    const ns = Buffer.concat([Buffer.from('8700000000000000', 'hex'), parseIPv6('2001:db8::abcd:10')!]);
    handler!(ns, 'fe80::1', 255);
    expect(calls.at(-1)).toBe(`send fe800000000000000000000000000001 type=136 src=${vip}`);
    handler!(ns, 'fe80::1', 64); // routed: dropped
    expect(calls).toHaveLength(3);
    announcer.announce([]);
    expect(calls.slice(3)).toEqual(['leave ff0200000000000000000001ffcd0010', 'close']);
  });
});
