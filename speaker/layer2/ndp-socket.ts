import { type Icmp6Handler, type Icmp6Socket, openIcmp6Socket } from '../native/index.ts';
import { formatIPv6, parseIPv6, solicitedNodeGroup } from './addr.ts';
import { ICMPV6_NS } from './ndp.ts';

/**
 * Thin shell over the addon's ICMPv6 socket for one interface: receives Neighbor Solicitations
 * only, keeps the solicited-node group memberships of the owned VIPs (reference counted: VIPs
 * sharing their last 24 bits share a group), sends NAs with hop limit 255.
 *
 * Why join the group: the IPv6 stack drops a multicast solicitation for a group nobody on the
 * interface joined before any socket sees it, and a real NIC filters it in hardware.
 */
export class NdpSocket {
  readonly ifname: string;
  private readonly sock: Icmp6Socket;
  private readonly groups = new Map<string, number>();
  private closed = false;

  constructor(ifname: string, onSolicitation: Icmp6Handler, open: typeof openIcmp6Socket = openIcmp6Socket) {
    this.ifname = ifname;
    this.sock = open(ifname, [ICMPV6_NS], (msg, source, hopLimit) => {
      if (this.closed) return;
      const src = parseIPv6(source);
      onSolicitation(msg, src ? formatIPv6(src) : source, hopLimit);
    });
  }

  private group(vip: string): Buffer {
    const ip = parseIPv6(vip);
    if (!ip) throw new Error(`not an IPv6 address: ${vip}`);
    return solicitedNodeGroup(ip);
  }

  join(vip: string): void {
    const group = this.group(vip);
    const key = formatIPv6(group);
    const n = this.groups.get(key) ?? 0;
    if (n === 0) this.sock.join(group);
    this.groups.set(key, n + 1);
  }

  leave(vip: string): void {
    const group = this.group(vip);
    const key = formatIPv6(group);
    const n = this.groups.get(key) ?? 0;
    if (n > 1) {
      this.groups.set(key, n - 1);
      return;
    }
    this.groups.delete(key);
    if (n === 1 && !this.closed) this.sock.leave(group);
  }

  /** Sends from `source` (the VIP: NAs leave from the address they advertise). Throws on error. */
  send(destination: string, message: Buffer, source: string): void {
    const dest = parseIPv6(destination);
    const src = parseIPv6(source);
    if (!dest || !src) throw new Error(`not an IPv6 address: ${dest ? source : destination}`);
    this.sock.send(dest, message, src);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.groups.clear();
    this.sock.close(); // the kernel drops the socket's memberships with it
  }
}
