// The real speaker (`node speaker/main.ts`, AF_PACKET addon, ServiceAccount bound to exactly
// speaker/rbac.ts) in three node namespaces on one bridge, the envtest kube-apiserver reachable
// over a veth, the IPAM controller assigning VIPs, and a client namespace that resolves and
// connects. See topology.ts for the wiring.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOwner } from '../../../speaker/election/hash.ts';
import { REPO_ROOT } from '../../envtest/index.ts';
import { JsonLines } from '../../speaker/support/netns.ts';
import { skipUnless } from '../../support/require.ts';
import { L2Topology } from './topology.ts';

const NAMES = ['n1', 'n2', 'n3'];
const VIP = '198.51.100.200';
const VIP_LOCAL = '198.51.100.201';
const VIP_LONELY = '198.51.100.240';
const VIP6 = '2001:db8::200';
const V6_CLASS = 'e2e.portico.dev/v6';
const FORGER = join(REPO_ROOT, 'test/speaker/fixtures/heartbeat-node.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipUnless({ root: true, binaries: ['ip', 'arping', 'ndisc6', 'tcpdump'] }))(
  'L2 speaker end to end (network namespaces)',
  () => {
    const topo = new L2Topology({
      label: 'l2e',
      subnet: '198.51.100',
      v6: '2001:db8::',
      vips: [VIP, VIP_LOCAL, VIP_LONELY, VIP6],
      // Speakers serve unclassed Services (with the controller) and V6_CLASS (see the IPv6 test).
      speakerArgs: [`--lb-class=${V6_CLASS}`],
      log: (m) => console.log(m),
    });
    const idx = (name: string) => NAMES.indexOf(name);
    const live = () => NAMES.filter((_, i) => topo.running(i));

    /** Waits until every running speaker reports `n` live nodes (itself included). */
    async function converged(n: number, since = 0): Promise<void> {
      await Promise.all(
        topo.nodes
          .filter((_, i) => topo.running(i))
          .map((node) =>
            node.lines!.waitFor(
              (l) =>
                l.msg === 'announcements changed' &&
                (l.time === undefined || Date.parse(String(l.time)) >= since) &&
                Array.isArray(l.alive) &&
                (l.alive as unknown[]).length === n,
              10_000,
            ),
          ),
      );
    }

    async function restartAll(): Promise<void> {
      const t = Date.now();
      for (let i = 0; i < NAMES.length; i++) if (!topo.running(i)) await topo.startSpeaker(i);
      await converged(3, t);
    }

    beforeAll(async () => {
      await topo.create();
      await topo.pool('e2e', ['198.51.100.200-198.51.100.230', '2001:db8::200-2001:db8::230']);
      await topo.pool('lonely', ['198.51.100.240-198.51.100.250']);
      await topo.l2Advertisement('e2e', { ipAddressPools: ['e2e'] });
      await Promise.all(NAMES.map((_, i) => topo.startSpeaker(i)));
      await converged(3);
    }, 180_000);
    afterAll(async () => {
      await topo.destroy();
    }, 60_000);

    it('pool + L2Advertisement + Service: the owner answers ARP, TCP reaches it, Announced names it', async () => {
      await topo.service('e2e', 'web', { ip: VIP });
      expect(await topo.waitForIPs('e2e', 'web')).toEqual([VIP]);
      const owner = rendezvousOwner(NAMES, VIP)!;
      const cond = await topo.waitForCondition('e2e', 'web', (c) => c?.status === 'True');
      expect(cond).toMatchObject({ reason: 'Announced', message: `${VIP}: node ${owner} interface eth0` });
      const r = await topo.arping(VIP, 3);
      expect(r.macs).toEqual(Array(3).fill(topo.mac(idx(owner))));
      expect(r.extra).toBe(0);
      topo.flushNeighbour(VIP);
      expect(await topo.tcp(VIP)).toBe(owner);
      expect(topo.neighbour(VIP)).toBe(topo.mac(idx(owner)));
    });

    it('exactly one node answers in steady state (capture on the bridge)', async () => {
      const cap = topo.captureArp(topo.seg.switchNs, 'br0');
      await cap.ready;
      const since = Date.now();
      const r = await topo.arping(VIP, 20, 0.05);
      await sleep(200);
      cap.stop();
      const repliers = new Set(
        cap.frames.filter((f) => f.t >= since - 50 && f.kind === 'reply' && f.ip === VIP).map((f) => f.src),
      );
      expect(r.macs.length).toBe(20);
      expect([...repliers]).toEqual([topo.mac(idx(rendezvousOwner(NAMES, VIP)!))]);
      // And the other nodes' kernels said nothing either (arp_ignore): only one MAC ever replied.
      expect(new Set(r.macs).size).toBe(1);
      // The per-VIP gauge the alerts use says the same: the owner, and nobody else, announces it.
      const announcers: string[] = [];
      for (const [i, n] of topo.nodes.entries()) {
        const m = await topo.seg.execAsync(n.ns, ['curl', '-s', `http://${n.ip}:7473/metrics`]);
        const series = new RegExp(
          `^portico_speaker_vip_announced\\{vip="${VIP.replaceAll('.', '\\.')}"[^}]*\\} 1$`,
          'm',
        );
        if (series.test(m.stdout)) announcers.push(NAMES[i]!);
      }
      expect(announcers).toEqual([rendezvousOwner(NAMES, VIP)]);
    });

    it('kill -9 of the owner: the client moves to the next owner in well under a second, TCP works', async () => {
      const owner = rendezvousOwner(NAMES, VIP)!;
      const next = rendezvousOwner(
        NAMES.filter((n) => n !== owner),
        VIP,
      )!;
      topo.flushNeighbour(VIP);
      expect(await topo.tcp(VIP)).toBe(owner);
      await sleep(1100); // past the client's ARP locktime, like any real client entry
      const killedAt = Date.now();
      await topo.stopSpeaker(idx(owner), 'SIGKILL');
      let movedAt = 0;
      while (Date.now() - killedAt < 3000) {
        if (topo.neighbour(VIP) === topo.mac(idx(next))) {
          movedAt = Date.now();
          break;
        }
        await sleep(5);
      }
      expect(movedAt, 'neighbour entry never moved').toBeGreaterThan(0);
      const tcpAt = await topo.tcpBecomes(VIP, next, 3000);
      console.log(
        `kill -9 failover: neighbour moved +${movedAt - killedAt} ms, TCP to ${next} +${tcpAt - killedAt} ms`,
      );
      expect(movedAt - killedAt).toBeLessThan(1000);
      await topo.waitForCondition('e2e', 'web', (c) => c?.message === `${VIP}: node ${next} interface eth0`);
      await restartAll();
      await topo.waitForCondition('e2e', 'web', (c) => c?.message === `${VIP}: node ${owner} interface eth0`);
    });

    it('SIGTERM of the owner: leave + make-before-break handover, exit 0', async () => {
      const owner = rendezvousOwner(NAMES, VIP)!;
      const next = rendezvousOwner(
        NAMES.filter((n) => n !== owner),
        VIP,
      )!;
      const cap = topo.captureArp(topo.client, 'eth0');
      await cap.ready;
      topo.flushNeighbour(VIP);
      expect(await topo.tcp(VIP)).toBe(owner);
      await sleep(1100);
      const termAt = Date.now();
      const exit = await topo.stopSpeaker(idx(owner), 'SIGTERM');
      const exitedAt = Date.now();
      const garp = cap.first(
        termAt,
        (f) => f.kind === 'garp' && f.ip === VIP && f.src === topo.mac(idx(next)),
      );
      cap.stop();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(garp, 'the next owner sent no GARP').toBeDefined();
      const tcpAt = await topo.tcpBecomes(VIP, next, 2000);
      console.log(
        `SIGTERM handover: GARP from ${next} +${(garp!.t - termAt).toFixed(1)} ms, TCP +${tcpAt - termAt} ms`,
      );
      expect(garp!.t - termAt).toBeLessThan(250);
      // Make-before-break: the new owner announced while the old process was still running.
      expect(garp!.t).toBeLessThan(exitedAt);
      await restartAll();
    });

    it('IPv6 VIP: the owner answers Neighbor Solicitations (ndisc6), TCP works', async () => {
      // test/envtest's apiserver has a single-stack IPv4 Service range, so no IPv6 Service can be
      // created for the controller to allocate. The test plays the controller instead: a class only
      // the speakers serve, and the VIP written into status as the controller would.
      await topo.service('e2e', 'web6', { cls: V6_CLASS });
      await topo.serviceStatus('e2e', 'web6', [VIP6]);
      const owner = rendezvousOwner(NAMES, VIP6)!;
      const cond = await topo.waitForCondition('e2e', 'web6', (c) => c?.status === 'True');
      expect(cond.message).toBe(`${VIP6}: node ${owner} interface eth0`);
      expect(await topo.ndisc(VIP6)).toBe(topo.mac(idx(owner)));
      expect(await topo.tcp(VIP6)).toBe(owner);
    });

    it('a forged heartbeat (wrong key) does not keep a dead owner alive', async () => {
      const owner = rendezvousOwner(NAMES, VIP)!;
      const next = rendezvousOwner(
        NAMES.filter((n) => n !== owner),
        VIP,
      )!;
      const forgedKey = join(topo.dir, 'forged-key');
      (await import('node:fs')).writeFileSync(forgedKey, 'not the cluster key, but long enough\n');
      const peers = topo.nodes
        .filter((n) => n.name !== owner)
        .map((n) => `${n.name}=${n.ip}`)
        .join(',');
      await topo.stopSpeaker(idx(owner), 'SIGKILL');
      // The forger claims to be the dead owner, from the client namespace, every 50 ms.
      const forger = topo.seg.spawnRaw(topo.client, [
        process.execPath,
        FORGER,
        owner,
        topo.clientIp,
        forgedKey,
        peers,
        '50',
      ]);
      const lines = new JsonLines(forger);
      try {
        await lines.waitFor((l) => l.event === 'ready', 10_000);
        const start = Date.now();
        let mac = '';
        while (Date.now() - start < 3000) {
          mac = (await topo.arping(VIP, 1, 0.1)).macs[0] ?? '';
          if (mac === topo.mac(idx(next))) break;
        }
        expect(mac).toBe(topo.mac(idx(next)));
        await sleep(500); // the forgery keeps arriving; ownership must stay put
        expect((await topo.arping(VIP, 3)).macs).toEqual(Array(3).fill(topo.mac(idx(next))));
        const m = await topo.seg.execAsync(topo.nodes[idx(next)]!.ns, [
          'curl',
          '-s',
          `http://${topo.nodes[idx(next)]!.ip}:7473/metrics`,
        ]);
        const dropped = /portico_speaker_heartbeats_dropped_total\{reason="bad-mac"[^}]*\} (\d+)/.exec(
          m.stdout,
        );
        expect(Number(dropped?.[1] ?? 0)).toBeGreaterThan(5);
      } finally {
        forger.kill('SIGKILL');
      }
      await restartAll();
    });

    it('externalTrafficPolicy Local: the VIP follows the node with the endpoint', async () => {
      await topo.service('e2e', 'local', { ip: VIP_LOCAL, etp: 'Local' });
      expect(await topo.waitForIPs('e2e', 'local')).toEqual([VIP_LOCAL]);
      // No endpoint anywhere: nobody may answer.
      await topo.endpointSlice('e2e', 'local', undefined);
      await topo.waitForCondition(
        'e2e',
        'local',
        (c) => c?.status === 'False' && c.reason === 'NoEligibleNode',
      );
      expect((await topo.arping(VIP_LOCAL, 2)).macs).toEqual([]);
      // Pick the node the hash would NOT choose, so the move is the endpoint's doing.
      const hashOwner = rendezvousOwner(NAMES, VIP_LOCAL)!;
      for (const target of [NAMES.find((n) => n !== hashOwner)!, hashOwner]) {
        await topo.endpointSlice('e2e', 'local', target);
        await topo.waitForCondition(
          'e2e',
          'local',
          (c) => c?.message === `${VIP_LOCAL}: node ${target} interface eth0`,
        );
        expect((await topo.arping(VIP_LOCAL, 3)).macs).toEqual(Array(3).fill(topo.mac(idx(target))));
        expect(await topo.tcpBecomes(VIP_LOCAL, target, 3000)).toBeGreaterThan(0);
      }
    });

    it('a VIP whose pool has no L2Advertisement is not answered and is reported once', async () => {
      await topo.service('e2e', 'lonely', { ip: VIP_LONELY });
      expect(await topo.waitForIPs('e2e', 'lonely')).toEqual([VIP_LONELY]);
      const c = await topo.waitForCondition('e2e', 'lonely', (x) => x?.status === 'False');
      expect(c.reason).toBe('NoL2Advertisement');
      expect((await topo.arping(VIP_LONELY, 2)).macs).toEqual([]);
      // Reported by exactly one speaker, the lowest-named live one (ADR 070).
      await sleep(500);
      const ev = await topo.admin!.request<{
        items: Array<{ reason?: string; reportingInstance?: string; regarding?: { name?: string } }>;
      }>({ path: '/apis/events.k8s.io/v1/namespaces/e2e/events' });
      const reporters = new Set(
        ev.items
          .filter((e) => e.reason === 'NotAnnounced' && e.regarding?.name === 'lonely')
          .map((e) => e.reportingInstance),
      );
      expect([...reporters]).toEqual([`portico-speaker-${[...live()].sort()[0]}`]);
      // Once advertised, it is announced.
      await topo.l2Advertisement('lonely', { ipAddressPools: ['lonely'] });
      await topo.waitForCondition('e2e', 'lonely', (x) => x?.status === 'True');
      const owner = rendezvousOwner(live(), VIP_LONELY)!;
      expect((await topo.arping(VIP_LONELY, 2)).macs).toEqual(Array(2).fill(topo.mac(idx(owner))));
      await topo.deleteL2Advertisement('lonely');
      await topo.waitForCondition('e2e', 'lonely', (x) => x?.status === 'False');
      await sleep(100);
      expect((await topo.arping(VIP_LONELY, 2)).macs).toEqual([]);
    });

    it('a Service that stops being a LoadBalancer is no longer answered and loses its Announced condition', async () => {
      await topo.waitForCondition('e2e', 'web', (c) => c?.status === 'True');
      await topo.apply('/api/v1/namespaces/e2e/services/web', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'e2e' },
        spec: { type: 'ClusterIP', ports: [{ port: 8080, protocol: 'TCP' }], selector: { app: 'web' } },
      });
      await topo.waitForCondition('e2e', 'web', (c) => c === undefined);
      expect((await topo.arping(VIP, 2)).macs).toEqual([]);
    });
  },
);
