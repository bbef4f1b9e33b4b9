/**
 * `npm run envtest -- provision [--kubectl]`  build/fetch the pinned control plane, print the paths.
 * `npm run envtest -- start`      start a control plane, print KUBECONFIG, run until Ctrl-C.
 * Options for start: --bind-address ADDR, --no-crds, --kubectl (build the pinned kubectl v1.34 too;
 * any kubectl within one minor version of the apiserver works, the pinned one is just the safe choice).
 */
import { startControlPlane } from './index.ts';
import { cachedKubectl, cacheRoot, provision, provisionKubectl } from './provision.ts';

const log = (msg: string) => console.error(msg);

function usage(code: number): never {
  console.error(
    'usage: npm run envtest -- provision [--kubectl] | start [--bind-address ADDR] [--no-crds] [--kubectl]',
  );
  process.exit(code);
}

async function cmdProvision(args: string[]): Promise<void> {
  const withKubectl = args.includes('--kubectl');
  if (args.some((a) => a !== '--kubectl')) usage(2);
  const started = Date.now();
  const assets = await provision({ log });
  const kubectl = withKubectl ? await provisionKubectl({ log }) : await cachedKubectl();
  console.log(`source:          ${assets.source}`);
  console.log(`cache:           ${cacheRoot()} (key ${assets.key})`);
  console.log(`etcd:            ${assets.etcd}`);
  console.log(`kube-apiserver:  ${assets.kubeApiserver}`);
  console.log(`gateway-api:     ${assets.gatewayApiCrdDir}`);
  console.log(`kubectl:         ${kubectl ?? '(not built; add --kubectl)'}`);
  console.log(`took:            ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function cmdStart(args: string[]): Promise<void> {
  let bindAddress: string | undefined;
  let installCrds = true;
  let buildKubectl = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--bind-address') bindAddress = args[++i] ?? usage(2);
    else if (a === '--no-crds') installCrds = false;
    else if (a === '--kubectl') buildKubectl = true;
    else if (a === '--no-kubectl')
      buildKubectl = false; // default; accepted for old scripts
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

  const kubectl = buildKubectl ? await provisionKubectl({ log }) : await cachedKubectl();
  cp = await startControlPlane({ bindAddress, installCrds, log });
  if (stopping) {
    await cp.stop();
    return;
  }
  const t = cp.timings;
  console.log(`server:     ${cp.server}`);
  console.log(`kubeconfig: ${cp.kubeconfigPath}`);
  console.log(
    `kubectl:    ${kubectl ?? 'any kubectl v1.33-v1.35 (or rerun with --kubectl to build the pinned one)'}`,
  );
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
  if (cmd === 'provision') await cmdProvision(rest);
  else if (cmd === 'start') await cmdStart(rest);
  else usage(cmd === undefined || cmd === '-h' || cmd === '--help' ? 0 : 2);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
