import { ARP_REQUEST, type ArpPacket, arpReplyFor, parseArp } from './arp.ts';

/**
 * The ARP answer policy, pure. A frame gets a reply only when it is an ARP request, addressed to
 * broadcast or to this interface, not sent by this interface, asking for a VIP this node owns on
 * this interface, and that VIP is not one of the node's own addresses (the kernel answers for
 * those; a pool overlapping node IPs must never make two stacks answer).
 */
export interface ArpContext {
  /** MAC of the interface the frame arrived on, colon form, lower case. */
  mac: string;
  /** VIPs (canonical IPv4 text) this node owns and announces on this interface. */
  owned: ReadonlySet<string>;
  /** The node's own addresses: never answered for, even if listed in `owned`. */
  nodeAddresses: ReadonlySet<string>;
}

export type ArpIgnoreReason =
  | 'malformed'
  | 'not-request'
  | 'not-for-us'
  | 'own-frame'
  | 'not-owned'
  | 'node-address'
  | 'conflict';

export type ArpVerdict =
  | { action: 'reply'; request: ArpPacket; reply: Buffer }
  | { action: 'ignore'; reason: ArpIgnoreReason; packet?: ArpPacket };

export function answerArp(frame: Uint8Array, ctx: ArpContext): ArpVerdict {
  const p = parseArp(frame);
  if (!p) return { action: 'ignore', reason: 'malformed' };
  if (p.ethSrc === ctx.mac || p.senderMac === ctx.mac)
    return { action: 'ignore', reason: 'own-frame', packet: p };
  if (p.op !== ARP_REQUEST) {
    // Someone else replying for (or announcing) one of our VIPs: report it, never answer.
    return ctx.owned.has(p.senderIP)
      ? { action: 'ignore', reason: 'conflict', packet: p }
      : { action: 'ignore', reason: 'not-request', packet: p };
  }
  if (p.ethDst !== 'ff:ff:ff:ff:ff:ff' && p.ethDst !== ctx.mac)
    return { action: 'ignore', reason: 'not-for-us', packet: p };
  if (p.senderIP === p.targetIP && p.senderIP !== '0.0.0.0') {
    // A gratuitous ARP from another host: an announcement, not a question.
    return ctx.owned.has(p.targetIP)
      ? { action: 'ignore', reason: 'conflict', packet: p }
      : { action: 'ignore', reason: 'not-request', packet: p };
  }
  if (ctx.nodeAddresses.has(p.targetIP)) return { action: 'ignore', reason: 'node-address', packet: p };
  if (!ctx.owned.has(p.targetIP)) return { action: 'ignore', reason: 'not-owned', packet: p };
  // RFC 5227 probes (sender IP 0.0.0.0) are answered too: the prober must learn the VIP is taken.
  return { action: 'reply', request: p, reply: arpReplyFor(p, ctx.mac) };
}
