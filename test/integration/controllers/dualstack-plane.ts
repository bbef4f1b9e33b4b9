// A dual-stack control plane for the controller's tests and benchmark.
//
// test/envtest starts kube-apiserver with a single-stack IPv4 Service range of a /24: no IPv6 or
// dual-stack Service can be created, and at most ~250 Services exist at once. The documentation
// ranges we may use for VIPs hold only 768 IPv4 addresses, so IPv6 VIPs (2001:db8::/32) are the
// only way to test dual-stack and to allocate thousands of VIPs. Until test/envtest grows an option
// for the Service range, this helper restarts a private control plane's kube-apiserver with the
// same flags plus a dual-stack range, and adds a ServiceCIDR with room for many ClusterIPs.
// (ClusterIPs are internal to the apiserver here: no traffic is ever sent to them.)
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlreadyExists, KubeClient } from '../../../lib/kube/index.ts';
import { type ControlPlane, startControlPlane } from '../../envtest/index.ts';

export interface DualStackPlane {
  cp: ControlPlane;
  /** Kill the replacement kube-apiserver and the control plane. */
  stop(): Promise<void>;
}

const V4_RANGE = '10.0.0.0/24';
const V6_RANGE = 'fd00:10::/112';

export async function startDualStackControlPlane(): Promise<DualStackPlane> {
  const cp = await startControlPlane();
  let proc: ChildProcess | undefined;
  const killIt = () => {
    if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killIt);
  try {
    const pid = cp.pids().kubeApiserver;
    if (!pid) throw new Error('kube-apiserver is not running');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    const [bin, ...args] = argv;
    if (!bin) throw new Error('cannot read kube-apiserver command line');
    const flags = args.filter((a) => !a.startsWith('--service-cluster-ip-range='));
    flags.push(`--service-cluster-ip-range=${V4_RANGE},${V6_RANGE}`);
    await cp.killApiServer();
    const logPath = join(cp.dir, 'kube-apiserver-dualstack.log');
    const log = openSync(logPath, 'a');
    const tail = () => readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
    proc = spawn(bin, flags, { stdio: ['ignore', log, log] });
    const client = new KubeClient(cp.kubeConfig());
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (proc.exitCode !== null)
          throw new Error(`dual-stack kube-apiserver exited with ${proc.exitCode}:\n${tail()}`);
        const ok = await client
          .request({ path: '/api/v1/namespaces/default', timeoutMs: 2000 })
          .then(() => true)
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline)
          throw new Error(`dual-stack kube-apiserver not ready after 30 s:\n${tail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // Room for thousands of ClusterIPs in both families.
      await client
        .request({
          method: 'POST',
          path: '/apis/networking.k8s.io/v1/servicecidrs',
          body: {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'ServiceCIDR',
            metadata: { name: 'portico-tests' },
            spec: { cidrs: ['10.96.0.0/16', 'fd00:10:96::/108'] },
          },
        })
        .catch((err) => {
          if (!isAlreadyExists(err)) throw err;
        });
    } finally {
      await client.close();
    }
  } catch (err) {
    killIt();
    await cp.stop();
    throw err;
  }
  return {
    cp,
    async stop() {
      killIt();
      process.off('exit', killIt);
      await cp.stop();
    },
  };
}
