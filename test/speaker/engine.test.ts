import { afterEach, describe, expect, it } from 'vitest';
import { type EngineChange, SpeakerEngine } from '../../speaker/engine.ts';
import { ARP_REQUEST, encodeArp, parseArp } from '../../speaker/layer2/arp.ts';
import type { Link } from '../../speaker/layer2/interfaces.ts';
import type { PacketSocket } from '../../speaker/native/index.ts';

// The engine with fixed links and a fake packet socket, alone in its cluster (no peers): what it
// announces and answers as facts change. Heartbeats bind a real UDP socket on loopback.
const MAC = '02:00:00:00:01:01';
const LINKS: Link[] = [
  // A VIP configured on lo for the data path (and kube-proxy's kube-ipvs0 dummy) must not turn
  // the VIP into a "node address".
  { name: 'lo', up: true, loopback: true, addresses: [{ address: '192.0.2.10', prefixLength: 32 }] },
  { name: 'kube-ipvs0', up: false, addresses: [{ address: '192.0.2.11', prefixLength: 32 }] },
  { name: 'eth0', up: true, addresses: [{ address: '192.0.2.2', prefixLength: 24 }] },
];

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

describe('SpeakerEngine (single node, fake wire)', () => {
  let engine: SpeakerEngine | undefined;
  afterEach(async () => {
    await engine?.stop({ graceful: false });
    engine = undefined;
  });

  it('announces owned VIPs on the subnet interface, answers them, never the node address', async () => {
    const sent: Buffer[] = [];
    let deliver: ((f: Buffer) => void) | undefined;
    const changes: EngineChange[] = [];
    engine = new SpeakerEngine({
      node: 'n1',
      links: LINKS,
      membership: { key: Buffer.from('0123456789abcdef'), peers: [], port: 0, bindAddress: '127.0.0.1' },
      announcer: {
        garp: { burstMs: [0], refreshMs: 0 },
        openPacket: (ifname, _type, onFrame): PacketSocket => {
          expect(ifname).toBe('eth0');
          deliver = onFrame;
          return { ifname, ifindex: 2, mac: MAC, send: (f) => sent.push(f), close() {} };
        },
      },
      onChange: (c) => changes.push(c),
    });
    await engine.start();
    engine.setFacts({
      nodes: [{ name: 'n1', labels: {}, addresses: ['192.0.2.2'] }],
      pools: [{ name: 'p' }],
      l2Advertisements: [{ name: 'all' }],
      vips: ['192.0.2.10', '192.0.2.11', '192.0.2.2', '198.51.100.7'].map((ip) => ({
        ip,
        pool: 'p',
        services: [{ key: `default/${ip}` }],
      })),
    });
    const last = changes.at(-1)!;
    // 192.0.2.2 is in a pool but is the node's own address: the kernel's business, never ours.
    expect([...last.announced.keys()].sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(last.announced.get('192.0.2.10')).toEqual(['eth0']);
    expect(last.decisions.get('198.51.100.7')).toMatchObject({
      owner: undefined,
      reason: 'no-usable-interface',
    });
    expect(last.view).toMatchObject({ alive: ['n1'], minority: false });
    sent.length = 0;
    deliver!(whoHas('192.0.2.10'));
    deliver!(whoHas('192.0.2.11'));
    deliver!(whoHas('192.0.2.2'));
    expect(sent.map((f) => parseArp(f)!.senderIP)).toEqual(['192.0.2.10', '192.0.2.11']);

    // The Service goes away: withdrawn at once.
    engine.setFacts({
      nodes: [{ name: 'n1' }],
      pools: [{ name: 'p' }],
      l2Advertisements: [{ name: 'all' }],
      vips: [],
    });
    expect(changes.at(-1)!.announced.size).toBe(0);
    sent.length = 0;
    deliver?.(whoHas('192.0.2.10'));
    expect(sent).toEqual([]);
  });
});
