import { describe, expect, it } from 'vitest';
import {
  ARP_REPLY,
  ARP_REQUEST,
  type ArpPacket,
  encodeArp,
  gratuitousArp,
  parseArp,
} from '../../../speaker/layer2/arp.ts';
import { type ArpContext, answerArp } from '../../../speaker/layer2/responder.ts';

const MAC = '02:00:00:00:01:01';
const ctx: ArpContext = {
  mac: MAC,
  owned: new Set(['192.0.2.10', '192.0.2.11']),
  nodeAddresses: new Set(['192.0.2.2', '192.0.2.11']),
};
const ask = (over: Partial<ArpPacket> = {}): Buffer =>
  encodeArp({
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: '02:00:00:00:0c:01',
    op: ARP_REQUEST,
    senderMac: '02:00:00:00:0c:01',
    senderIP: '192.0.2.100',
    targetMac: '00:00:00:00:00:00',
    targetIP: '192.0.2.10',
    ...over,
  });

describe('ARP responder policy', () => {
  it('answers a broadcast request for an owned VIP with our MAC', () => {
    const v = answerArp(ask(), ctx);
    expect(v.action).toBe('reply');
    if (v.action !== 'reply') return;
    expect(parseArp(v.reply)).toMatchObject({
      op: ARP_REPLY,
      senderIP: '192.0.2.10',
      senderMac: MAC,
      ethDst: '02:00:00:00:0c:01',
    });
  });

  it('answers a unicast refresh addressed to our MAC', () => {
    expect(answerArp(ask({ ethDst: MAC }), ctx).action).toBe('reply');
  });

  it('answers an RFC 5227 probe (sender 0.0.0.0) so the prober sees the VIP is taken', () => {
    const v = answerArp(ask({ senderIP: '0.0.0.0' }), ctx);
    expect(v.action).toBe('reply');
    if (v.action === 'reply') expect(parseArp(v.reply)?.targetIP).toBe('0.0.0.0');
  });

  it.each<[string, Buffer, string]>([
    ['a VIP we do not own', ask({ targetIP: '192.0.2.12' }), 'not-owned'],
    ['a node address', ask({ targetIP: '192.0.2.2' }), 'node-address'],
    ['a VIP that is also a node address', ask({ targetIP: '192.0.2.11' }), 'node-address'],
    ['a unicast request for another host', ask({ ethDst: '02:00:00:00:09:09' }), 'not-for-us'],
    ['our own request looped back', ask({ ethSrc: MAC, senderMac: MAC }), 'own-frame'],
    ['a reply', ask({ op: ARP_REPLY, senderIP: '192.0.2.50' }), 'not-request'],
    ['a foreign GARP for another address', gratuitousArp('02:00:00:00:09:09', '192.0.2.50'), 'not-request'],
    ['garbage', Buffer.from('hello'), 'malformed'],
  ])('ignores %s', (_name, frame, reason) => {
    const v = answerArp(frame, ctx);
    expect(v).toMatchObject({ action: 'ignore', reason });
  });

  it('reports another host claiming an owned VIP (GARP or reply) as a conflict, never answers it', () => {
    expect(answerArp(gratuitousArp('02:00:00:00:09:09', '192.0.2.10'), ctx)).toMatchObject({
      action: 'ignore',
      reason: 'conflict',
    });
    expect(
      answerArp(ask({ op: ARP_REPLY, senderIP: '192.0.2.10', senderMac: '02:00:00:00:09:09' }), ctx),
    ).toMatchObject({
      action: 'ignore',
      reason: 'conflict',
    });
  });

  it('answers nothing when nothing is owned', () => {
    expect(answerArp(ask(), { ...ctx, owned: new Set() })).toMatchObject({
      action: 'ignore',
      reason: 'not-owned',
    });
  });
});
