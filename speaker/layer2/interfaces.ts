import { parseIP, prefixContains } from './addr.ts';

/**
 * Which interface(s) announce a VIP, pure. Only usable links count: administratively up with
 * carrier, not loopback, not enslaved to a bridge or bond (a slave's frames belong to its master;
 * answering there would put our MAC behind the wrong port). With `L2Advertisement.interfaces`
 * the VIP is announced on each listed usable link; otherwise on the link whose subnet contains
 * the VIP (longest prefix wins), never on every link. No usable link = this node is not eligible.
 */
export interface LinkAddress {
  address: string;
  prefixLength: number;
}

export interface Link {
  name: string;
  /** Admin UP and carrier (LOWER_UP). */
  up: boolean;
  loopback?: boolean;
  /** Set when the link is a bridge/bond port. */
  master?: string;
  mac?: string;
  index?: number;
  addresses: LinkAddress[];
}

export function isUsable(link: Link): boolean {
  return link.up && !link.loopback && !link.master;
}

export type InterfaceChoice =
  | { interfaces: string[]; reason?: undefined }
  | { interfaces: []; reason: string };

export function selectInterfaces(
  vip: string,
  links: readonly Link[],
  wanted?: readonly string[],
): InterfaceChoice {
  const ip = parseIP(vip);
  if (!ip) return { interfaces: [], reason: `${vip} is not an IP address` };
  if (wanted && wanted.length > 0) {
    const names = links.filter((l) => isUsable(l) && wanted.includes(l.name)).map((l) => l.name);
    if (names.length === 0) {
      return {
        interfaces: [],
        reason: `none of the interfaces ${wanted.join(', ')} is present, up and not enslaved`,
      };
    }
    return { interfaces: [...new Set(names)].sort() };
  }
  let best = -1;
  let names: string[] = [];
  for (const link of links) {
    if (!isUsable(link)) continue;
    for (const a of link.addresses) {
      const prefix = parseIP(a.address);
      // Host routes (/32, /128) are not subnets: a VIP configured on a link must not select it.
      if (!prefix || prefix.length !== ip.length || a.prefixLength >= ip.length * 8) continue;
      if (!prefixContains(prefix, a.prefixLength, ip)) continue;
      if (a.prefixLength > best) {
        best = a.prefixLength;
        names = [link.name];
      } else if (a.prefixLength === best) {
        names.push(link.name);
      }
    }
  }
  if (names.length === 0)
    return { interfaces: [], reason: `no usable interface has a subnet containing ${vip}` };
  return { interfaces: [...new Set(names)].sort() };
}

/**
 * What a node tells its peers about its links (inside the authenticated heartbeat), so every
 * speaker can evaluate "has a usable interface for this VIP" for every node identically: the
 * usable links only, with their subnets. Compact JSON; bounded by the caller's size limit.
 */
export type LinkSummary = Array<{ n: string; a: string[] }>;

export function summarizeLinks(links: readonly Link[]): LinkSummary {
  return links
    .filter(isUsable)
    .map((l) => ({ n: l.name, a: l.addresses.map((a) => `${a.address}/${a.prefixLength}`).sort() }))
    .sort((x, y) => (x.n < y.n ? -1 : x.n > y.n ? 1 : 0));
}

/** Inverse of summarizeLinks; undefined for anything malformed (it came off the wire). */
export function linksFromSummary(summary: unknown): Link[] | undefined {
  if (!Array.isArray(summary)) return undefined;
  const out: Link[] = [];
  for (const item of summary) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { n, a } = item as { n?: unknown; a?: unknown };
    if (typeof n !== 'string' || !Array.isArray(a)) return undefined;
    const addresses: LinkAddress[] = [];
    for (const cidr of a) {
      if (typeof cidr !== 'string') return undefined;
      const slash = cidr.lastIndexOf('/');
      const len = Number(cidr.slice(slash + 1));
      if (slash < 0 || !Number.isInteger(len) || !parseIP(cidr.slice(0, slash))) return undefined;
      addresses.push({ address: cidr.slice(0, slash), prefixLength: len });
    }
    out.push({ name: n, up: true, addresses });
  }
  return out;
}

/** `ip -j -d addr show` output → Link[]; entries it cannot read are skipped. */
export function linksFromIpJson(json: unknown): Link[] {
  if (!Array.isArray(json)) return [];
  const out: Link[] = [];
  for (const raw of json) {
    const e = raw as {
      ifname?: unknown;
      ifindex?: unknown;
      flags?: unknown;
      master?: unknown;
      link_type?: unknown;
      address?: unknown;
      addr_info?: unknown;
    };
    if (typeof e.ifname !== 'string') continue;
    const flags = Array.isArray(e.flags) ? (e.flags as unknown[]) : [];
    const addresses: LinkAddress[] = [];
    for (const a of Array.isArray(e.addr_info) ? (e.addr_info as Array<Record<string, unknown>>) : []) {
      if (
        typeof a.local === 'string' &&
        typeof a.prefixlen === 'number' &&
        a.scope !== 'link' &&
        a.scope !== 'host'
      ) {
        addresses.push({ address: a.local, prefixLength: a.prefixlen });
      }
    }
    const link: Link = {
      name: e.ifname,
      up: flags.includes('UP') && flags.includes('LOWER_UP'),
      loopback: flags.includes('LOOPBACK') || e.link_type === 'loopback',
      addresses,
    };
    if (typeof e.master === 'string') link.master = e.master;
    if (typeof e.address === 'string') link.mac = e.address;
    if (typeof e.ifindex === 'number') link.index = e.ifindex;
    out.push(link);
  }
  return out;
}
