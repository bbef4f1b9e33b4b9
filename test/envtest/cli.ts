/**
 * `npm run envtest -- provision`  build/fetch the pinned control plane, print the paths.
 * `npm run envtest -- start`      start a control plane, print KUBECONFIG, run until Ctrl-C.
 * Options for start: --bind-address ADDR, --no-crds, --no-kubectl.
 */
import { startControlPlane } from './index.ts';
import { cacheRoot, provision, provisionKubectl } from './provision.ts';

const log = (msg: string) => console.error(msg);

function usage(code: number): never {
  console.error(
    'usage: npm run envtest -- provision | start [--bind-address ADDR] [--no-crds] [--no-kubectl]',
  );
  process.exit(code);
}

async function cmdProvision(): Promise<void> {
  const started = Date.now();
  const assets = await provision({ log });
  console.log(`source:          ${assets.source}`);
  console.log(`cache:           ${cacheRoot()} (key ${assets.key})`);
  console.log(`etcd:            ${assets.etcd}`);
  console.log(`kube-apiserver:  ${assets.kubeApiserver}`);
  console.log(`gateway-api:     ${assets.gatewayApiCrdDir}`);
  console.log(`took:            ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function cmdStart(args: string[]): Promise<void> {
  let bindAddress: string | undefined;
  let installCrds = true;
  let withKubectl = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--bind-address') bindAddress = args[++i] ?? usage(2);
    else if (a === '--no-crds') installCrds = false;
    else if (a === '--no-kubectl') withKubectl = false;
    else usage(2);
  }
  // Ctrl-C during startup must still tear down: handlers go in before anything is spawned.
  let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${sig}: stopping the control plane`);
    const done = cp ? cp.stop() : Promise.resolve();
    done.then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  const kubectl = withKubectl ? await provisionKubectl({ log }) : undefined;
  cp = await startControlPlane({ bindAddress, installCrds, log });
  if (stopping) {
    await cp.stop();
    return;
  }
  const t = cp.timings;
  console.log(`server:     ${cp.server}`);
  console.log(`kubeconfig: ${cp.kubeconfigPath}`);
  if (kubectl) console.log(`kubectl:    ${kubectl}`);
  console.log(
    `started in ${(t.totalMs / 1000).toFixed(1)} s (provision ${t.provisionMs} ms, etcd ${t.etcdMs} ms, ` +
      `kube-apiserver ${t.apiServerMs} ms, CRDs ${t.crdsMs} ms)`,
  );
  console.log('');
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
  if (kubectl) console.log(`alias kubectl=${kubectl}`);
  console.log('');
  console.log('running; press Ctrl-C to stop and clean up');
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'provision') await cmdProvision();
  else if (cmd === 'start') await cmdStart(rest);
  else usage(cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
