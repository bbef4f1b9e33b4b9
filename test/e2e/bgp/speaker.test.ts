// BGP mode end to end with the REAL speaker (issue 9): `node speaker/main.ts --bgp` in three node
// namespaces as a ServiceAccount bound to exactly the chart's rules (base + BGP), the envtest
// kube-apiserver over a root-namespace veth, the IPAM controller assigning VIPs from an
// IPAddressPool, and two real routers on the same bridge at once (speaker-topology.ts):
//   - FRR (Debian) at 192.0.2.1, AS 65000, TCP MD5 with every node (password from a basic-auth
//     Secret named by the BGPPeer); it programs the router namespace's kernel table, and the client
//     behind it connects to the VIPs;
//   - GoBGP (built from its Go module) at 192.0.2.2, AS 65002, in its own namespace: sessions and
//     paths in its RIB (it programs no kernel).
// Checks: BGPSessionStates Established per node and peer; a LoadBalancer VIP with one next hop per
// node (ECMP) and the client reaching every node; externalTrafficPolicy Local → only nodes with a
// ready endpoint; an IPv6 VIP over the IPv4 sessions (MP-BGP, IPv6 next hop from the Node);
// SIGTERM withdraws at once, SIGKILL of a node that is off the wire by hold-time expiry (3 s); a
// wrong MD5 password keeps the FRR sessions down. Timings are printed at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../support/require.ts';
import { type Neighbor, type Router, routerBinaries, startRouter } from './routers.ts';
import { BgpSpeakerTopology, type SessionStateView } from './speaker-topology.ts';
import { ROUTER_V4 } from './topology.ts';

const VIPS4 = ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13', '203.0.113.14'];
const VIP6 = '2001:db8:f::10';
const V6_CLASS = 'e2e.portico.dev/v6';
const GOBGP_V4 = '192.0.2.2';
const GOBGP_V6 = '2001:db8:1::2';
const HOLD = 3;
const PASSWORD = 'portico-e2e-md5';
const NS = 'e2e';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const host = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;

describe.skipIf(
  skipUnless({ root: true, binaries: ['ip', ...routerBinaries('frr'), ...routerBinaries('gobgp')] }),
)('BGP mode end to end: the real speaker against FRR and GoBGP', () => {
  const topo = new BgpSpeakerTopology({
    label: 'bgpspk',
    vips: [...VIPS4, VIP6],
    speakerArgs: [`--lb-class=${V6_CLASS}`, '--log-level=info'],
    log: (m) => console.log(m),
  });
  let frr: Router | undefined;
  let gobgp: Router | undefined;
  const times: Record<string, number> = {};
  let webVip = '';

  const nodeIps = () => topo.nodes.map((n) => n.ip).sort();
  const established = (items: SessionStateView[], peer: string) =>
    items
      .filter((s) => s.status?.peer === peer && s.status.state === 'Established')
      .map((s) => s.status!.node);

  beforeAll(async () => {
    await topo.create();
    const seg = topo.seg;
    // GoBGP in its own namespace on the bridge (port 179 is FRR's in the router namespace).
    const gbNs = seg.addHost('gb', '02:00:00:00:0b:02', [`${GOBGP_V4}/24`, `${GOBGP_V6}/64`]);
    const neighbors = (password?: string): Neighbor[] =>
      topo.nodes.map((n) => ({
        address: n.ip,
        as: 65001,
        holdTime: HOLD,
        families: ['ipv4', 'ipv6'],
        ...(password ? { password } : {}),
      }));
    frr = await startRouter('frr', {
      ns: topo.bgp.router,
      dir: `${topo.bgp.dir}/frr`,
      as: 65000,
      routerId: ROUTER_V4,
      neighbors: neighbors(PASSWORD),
    });
    gobgp = await startRouter('gobgp', {
      ns: gbNs,
      dir: `${topo.bgp.dir}/gobgp`,
      as: 65002,
      routerId: GOBGP_V4,
      listen: [GOBGP_V4],
      neighbors: neighbors(),
    });
    await topo.pool('e2e', ['203.0.113.10-203.0.113.14', '2001:db8:f::10-2001:db8:f::14']);
    await topo.passwordSecret('frr-md5', PASSWORD);
    const common = { myASN: 65001, holdTime: `${HOLD}s`, connectTime: '1s' };
    await topo.bgpPeer('frr', {
      ...common,
      peerASN: 65000,
      peerAddress: ROUTER_V4,
      passwordSecret: { name: 'frr-md5' },
    });
    await topo.bgpPeer('gobgp', { ...common, peerASN: 65002, peerAddress: GOBGP_V4 });
    await topo.bgpAdvertisement('e2e', { ipAddressPools: ['e2e'] });
    await Promise.all(topo.nodes.map((_, i) => topo.startSpeaker(i)));
  }, 180_000);

  afterAll(async () => {
    console.log(`BGP speaker e2e timings (ms): ${JSON.stringify(times)}`);
    await frr?.stop().catch(() => {});
    await gobgp?.stop().catch(() => {});
    await topo.destroy();
  }, 60_000);

  it('every node has its sessions Established (BGPSessionState per node and peer; MD5 with FRR)', async () => {
    const t0 = Date.now();
    const items = await topo.waitSessionStates(
      (x) => established(x, 'frr').length === 3 && established(x, 'gobgp').length === 3,
      30_000,
      '3 nodes x 2 peers Established',
    );
    times.sessions_established_ms = Date.now() - t0;
    expect(items.map((s) => s.metadata?.name).sort()).toEqual([
      'n1-frr',
      'n1-gobgp',
      'n2-frr',
      'n2-gobgp',
      'n3-frr',
      'n3-gobgp',
    ]);
    await frr!.waitEstablished(nodeIps(), 10_000);
    await gobgp!.waitEstablished(nodeIps(), 10_000);
  });

  it('a LoadBalancer Service gets a VIP from the pool; each router has one next hop per node; the client reaches every node', async () => {
    const t0 = Date.now();
    await topo.service(NS, 'web');
    webVip = (await topo.waitForIPs(NS, 'web'))[0]!;
    expect(VIPS4).toContain(webVip);
    const [f, g] = await Promise.all([
      frr!.waitNextHops(host(webVip), 3, 15_000),
      gobgp!.waitNextHops(host(webVip), 3, 15_000),
    ]);
    times.service_to_frr_ecmp_ms = f.t - t0;
    times.service_to_gobgp_paths_ms = g.t - t0;
    expect(f.nextHops).toEqual(nodeIps());
    expect(g.nextHops).toEqual(nodeIps());
    const answers = await topo.bgp.connectMany(webVip, 30);
    expect(answers.filter((a) => a === undefined)).toEqual([]);
    expect(new Set(answers)).toEqual(new Set(['n1', 'n2', 'n3']));
    const items = await topo.waitSessionStates(
      (x) => x.filter((s) => s.status?.prefixesSent === 1).length === 6,
      10_000,
      'prefixesSent 1 on every session',
    );
    expect(items).toHaveLength(6);
  });

  it('externalTrafficPolicy Local: only nodes with a ready endpoint are next hops', async () => {
    await topo.service(NS, 'local', { etp: 'Local' });
    const [vip] = await topo.waitForIPs(NS, 'local');
    expect(VIPS4).toContain(vip);
    await topo.endpointSlice(NS, 'local', []);
    await sleep(1000);
    expect(await frr!.nextHops(host(vip!))).toEqual([]);
    expect(await gobgp!.nextHops(host(vip!))).toEqual([]);
    const ip = (name: string) => topo.nodes.find((n) => n.name === name)!.ip;
    await topo.endpointSlice(NS, 'local', ['n2']);
    expect((await frr!.waitNextHops(host(vip!), 1, 10_000)).nextHops).toEqual([ip('n2')]);
    expect((await gobgp!.waitNextHops(host(vip!), 1, 10_000)).nextHops).toEqual([ip('n2')]);
    expect(new Set(await topo.bgp.connectMany(vip!, 5))).toEqual(new Set(['n2']));
    await topo.endpointSlice(NS, 'local', ['n1', 'n3']);
    expect((await frr!.waitNextHops(host(vip!), 2, 10_000)).nextHops).toEqual([ip('n1'), ip('n3')]);
    expect((await gobgp!.waitNextHops(host(vip!), 2, 10_000)).nextHops).toEqual([ip('n1'), ip('n3')]);
    const answers = await topo.bgp.connectMany(vip!, 20);
    expect(answers.every((a) => a === 'n1' || a === 'n3')).toBe(true);
  });

  it('an IPv6 VIP over the IPv4 sessions (MP-BGP, the Node’s IPv6 address as next hop)', async () => {
    // The envtest apiserver's Service range is IPv4 only: the test plays the controller for a class
    // only the speakers serve, as test/e2e/l2 does.
    await topo.service(NS, 'web6', { cls: V6_CLASS });
    await topo.serviceStatus(NS, 'web6', [VIP6]);
    const v6 = topo.nodes.map((n) => n.ip6).sort();
    expect((await frr!.waitNextHops(host(VIP6), 3, 15_000)).nextHops).toEqual(v6);
    expect((await gobgp!.waitNextHops(host(VIP6), 3, 15_000)).nextHops).toEqual(v6);
    const answers = await topo.bgp.connectMany(VIP6, 30);
    expect(answers.filter((a) => a === undefined)).toEqual([]);
    expect(new Set(answers)).toEqual(new Set(['n1', 'n2', 'n3']));
  });

  it('SIGTERM: the stopped speaker’s next hop is withdrawn at once, exit 0, its sessions Idle', async () => {
    const i = 2;
    const node = topo.nodes[i]!;
    const wf = frr!.waitNextHops(host(webVip), 2, 5000);
    const wg = gobgp!.waitNextHops(host(webVip), 2, 5000);
    const w6 = frr!.waitNextHops(host(VIP6), 2, 5000);
    await sleep(100); // the watchers are listening
    const t0 = Date.now();
    const exit = await topo.stopSpeaker(i, 'SIGTERM');
    const [f, g, f6] = await Promise.all([wf, wg, w6]);
    times.graceful_frr_ms = f.t - t0;
    times.graceful_gobgp_ms = g.t - t0;
    times.graceful_frr_v6_ms = f6.t - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(f.nextHops).not.toContain(node.ip);
    expect(g.nextHops).not.toContain(node.ip);
    expect(times.graceful_frr_ms).toBeLessThan(1000);
    expect(times.graceful_gobgp_ms).toBeLessThan(1000);
    const items = await topo.waitSessionStates(
      (x) => x.filter((s) => s.status?.node === node.name && s.status.state === 'Idle').length === 2,
      5000,
      `${node.name}'s sessions Idle`,
    );
    expect(items.find((s) => s.metadata?.name === `${node.name}-frr`)?.status?.lastError).toBe(
      'speaker stopped',
    );
    // Back in the ECMP set.
    const back = frr!.waitNextHops(host(webVip), 3, 20_000);
    const t1 = Date.now();
    await topo.startSpeaker(i);
    times.restart_to_frr_ecmp_ms = (await back).t - t1;
    await gobgp!.waitNextHops(host(webVip), 3, 20_000);
  });

  it('SIGKILL of a node off the wire: withdrawn by hold-time expiry (3 s BGPPeer hold time)', async () => {
    const i = 0;
    const node = topo.nodes[i]!;
    const wf = frr!.waitNextHops(host(webVip), 2, 15_000);
    const wg = gobgp!.waitNextHops(host(webVip), 2, 15_000);
    await sleep(100);
    // Link down first: the kernel's FIN for the killed process's sockets never leaves the node.
    topo.linkDown(i);
    const t0 = Date.now();
    await topo.stopSpeaker(i, 'SIGKILL');
    const [f, g] = await Promise.all([wf, wg]);
    times.kill_hold_expiry_frr_ms = f.t - t0;
    times.kill_hold_expiry_gobgp_ms = g.t - t0;
    expect(f.nextHops).not.toContain(node.ip);
    expect(g.nextHops).not.toContain(node.ip);
    for (const ms of [times.kill_hold_expiry_frr_ms, times.kill_hold_expiry_gobgp_ms]) {
      expect(ms).toBeGreaterThan((HOLD - 1.5) * 1000);
      expect(ms).toBeLessThan((HOLD + 2.5) * 1000);
    }
    await topo.linkUp(i);
    await topo.startSpeaker(i);
    await frr!.waitNextHops(host(webVip), 3, 20_000);
    await gobgp!.waitNextHops(host(webVip), 3, 20_000);
    await frr!.waitNextHops(host(VIP6), 3, 20_000);
  }, 60_000);

  it('MD5: a wrong password in the Secret keeps the FRR sessions down; the right one brings them back', async () => {
    await topo.passwordSecret('frr-md5', 'not-the-password');
    // The sessions restart with the new key (graceful: withdraw first), and FRR drops its SYNs.
    await frr!.waitNextHops(host(webVip), 0, 15_000);
    const down = await topo.waitSessionStates(
      (x) =>
        x.filter((s) => s.status?.peer === 'frr' && /MD5/.test(s.status.lastError ?? '')).length === 3 &&
        established(x, 'frr').length === 0,
      15_000,
      'FRR sessions down with an MD5 hint',
    );
    expect(established(down, 'frr')).toEqual([]);
    for (let k = 0; k < 10; k++) {
      const s = await frr!.sessions();
      expect(nodeIps().filter((ip) => s[ip] === 'Established')).toEqual([]);
      expect(established(await topo.sessionStates(), 'frr')).toEqual([]);
      await sleep(300);
    }
    // GoBGP (no password) never noticed.
    expect(await gobgp!.nextHops(host(webVip))).toEqual(nodeIps());
    await topo.passwordSecret('frr-md5', PASSWORD);
    await topo.waitSessionStates((x) => established(x, 'frr').length === 3, 30_000, 'FRR Established again');
    expect((await frr!.waitNextHops(host(webVip), 3, 15_000)).nextHops).toEqual(nodeIps());
  });
});
