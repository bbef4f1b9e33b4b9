// MetalLB as a peer in the controller and failover benches (test/bench/controller.ts, failover.ts).
//
// The binaries are MetalLB's own `controller` and `speaker` main packages, built from the pinned
// release of the Go module go.universe.tf/metallb with its own go.mod/go.sum (`go install
// pkg@version`: nothing of MetalLB is committed here) into a cache folder keyed by the version,
// like the CoreDNS peer of the DNS bench. At run time the benches use MetalLB's CRDs from the same
// module in the Go module cache (config/crd/bases: the CRDs without the conversion-webhook patch,
// which would need the webhook Service).
//
// The pure parts (cache path, MetalLB's L2 owner order, a Prometheus sample reader and the objects
// the benches create) are unit-tested in metallb.test.ts; ensureMetalLB() is the I/O shell.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { strictPrereqs } from './require.ts';

export const METALLB_MODULE = 'go.universe.tf/metallb';
/** The pinned release (the cache folder follows the version; `go list -m -versions` lists others). */
export const METALLB_VERSION = 'v0.15.2';
/** The speaker Pods' labels as MetalLB's Helm chart sets them (and passes as METALLB_ML_LABELS). */
export const SPEAKER_LABELS = {
  'app.kubernetes.io/name': 'metallb',
  'app.kubernetes.io/component': 'speaker',
};
/** The chart's memberlist port (speaker.memberlist.mlBindPort). */
export const MEMBERLIST_PORT = 7946;
/** The file name MetalLB reads under --ml-secret-key-path (internal/k8s MLSecretKeyName). */
export const MEMBERLIST_KEY_FILE = 'secretkey';

export interface MetalLB {
  version: string;
  controller: string;
  speaker: string;
  /** go.universe.tf/metallb@version in the Go module cache (read-only). */
  moduleDir: string;
  /** Its CRD manifests, to install into a bench's control plane. */
  crdFiles: string[];
}

/** Where the binaries of `version` are cached: ${PORTICO_CACHE:-~/.cache/portico}/metallb-<version>. */
export function metallbCacheDir(
  version: string,
  env: Record<string, string | undefined> = process.env,
  home = homedir(),
): string {
  if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a MetalLB release version: ${version}`);
  return join(env.PORTICO_CACHE || join(home, '.cache', 'portico'), `metallb-${version}`);
}

/**
 * The order in which MetalLB's layer-2 election (speaker/layer2_controller.go, ShouldAnnounce)
 * ranks the usable nodes for a Service: ascending SHA-256 of `<node>#<first IP>`. The first node
 * announces. `ip` must be spelt as Go's net.IP.String() does (dotted quad for IPv4).
 */
export function metallbL2Order(nodes: readonly string[], ip: string): string[] {
  const key = (n: string) => createHash('sha256').update(`${n}#${ip}`).digest();
  return [...nodes]
    .map((n) => ({ n, h: key(n) }))
    .sort((a, b) => Buffer.compare(a.h, b.h))
    .map((x) => x.n);
}

/** The node MetalLB's L2 mode announces `ip` from, among `nodes` (undefined for none). */
export function metallbL2Owner(nodes: readonly string[], ip: string): string | undefined {
  return metallbL2Order(nodes, ip)[0];
}

/** Every sample of `name` in a Prometheus text exposition, with its labels. */
export function promSamples(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * The value of one sample in a Prometheus text exposition: the line `name{labels} value` whose
 * labels include every pair in `labels` (any order). undefined when absent.
 */
export function promSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return promSamples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

/** Write requests the apiserver served (apiserver_request_total with verb POST/PUT/PATCH/DELETE). */
export function apiserverWrites(text: string): number {
  const writes = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);
  let n = 0;
  for (const s of promSamples(text, 'apiserver_request_total'))
    if (writes.has(s.labels.verb ?? '')) n += s.value;
  return n;
}

/** Ours divided by theirs, 3 decimals; null when either is missing or theirs is 0. */
export function ratioVs(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  if (ours === null || ours === undefined || theirs === null || theirs === undefined || theirs === 0)
    return null;
  return Math.round((ours / theirs) * 1000) / 1000;
}

/** A MetalLB IPAddressPool (namespaced: MetalLB reads only its own namespace). */
export function metallbPool(namespace: string, name: string, addresses: string[]): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace },
    spec: { addresses },
  };
}

export function metallbL2Advertisement(
  namespace: string,
  name: string,
  pools: string[],
): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name, namespace },
    spec: { ipAddressPools: pools },
  };
}

/**
 * A speaker Pod as the DaemonSet would make it (hostNetwork: pod IP = node IP), for an apiserver
 * without kubelets: MetalLB's speaker reads its own Pod (--pod-name) and finds memberlist peers by
 * listing Pods with SPEAKER_LABELS and joining their status.podIP. The status is written
 * separately (the /status subresource): speakerPodStatus.
 */
export function speakerPod(namespace: string, node: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `speaker-${node}`, namespace, labels: SPEAKER_LABELS },
    spec: {
      nodeName: node,
      hostNetwork: true,
      containers: [{ name: 'speaker', image: `quay.io/metallb/speaker:${METALLB_VERSION}` }],
    },
  };
}

export function speakerPodStatus(ip: string, now = new Date()): Record<string, unknown> {
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    status: {
      phase: 'Running',
      hostIP: ip,
      hostIPs: [{ ip }],
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
    },
  };
}

function goBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error(`go is not installed: it builds the MetalLB peer (${METALLB_MODULE}@${METALLB_VERSION})`);
}

/**
 * The MetalLB controller and speaker binaries, built on first use (a few minutes on 2 cores) and
 * then taken from the cache. Throws with go's own output when the build fails.
 */
export function ensureMetalLB(log: (m: string) => void = () => {}, version = METALLB_VERSION): MetalLB {
  const go = goBinary();
  const dir = metallbCacheDir(version);
  mkdirSync(dir, { recursive: true });
  // Run go outside the repository (it has no go.mod at the root, but a parent folder might).
  // On failure `go mod download -json` still prints the JSON, with Go's reason in Error.
  const dl = spawnSync(go, ['mod', 'download', '-json', `${METALLB_MODULE}@${version}`], {
    cwd: dir,
    encoding: 'utf8',
  });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(dl.stdout) as typeof info;
  } catch {
    // no JSON: report stderr below
  }
  if (dl.status !== 0 || !info.Dir)
    throw new Error(
      `go mod download ${METALLB_MODULE}@${version} failed: ${info.Error ?? (dl.stderr.trim() || `exit ${dl.status}`)}`,
    );
  const controller = join(dir, 'controller');
  const speaker = join(dir, 'speaker');
  if (!existsSync(controller) || !existsSync(speaker)) {
    // Build into a scratch folder and move into place, so a killed build leaves no half binary.
    const tmp = join(dir, `build-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const t0 = Date.now();
    log(`building MetalLB ${version} controller and speaker into ${dir} (once)`);
    try {
      execFileSync(
        go,
        [
          'install',
          '-trimpath',
          '-ldflags=-s -w',
          `${METALLB_MODULE}/controller@${version}`,
          `${METALLB_MODULE}/speaker@${version}`,
        ],
        {
          cwd: dir,
          env: { ...process.env, GOBIN: tmp, CGO_ENABLED: '0' },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      renameSync(join(tmp, 'controller'), controller);
      renameSync(join(tmp, 'speaker'), speaker);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`built MetalLB ${version} in ${Math.round((Date.now() - t0) / 1000)} s`);
  }
  const crdDir = join(info.Dir, 'config', 'crd', 'bases');
  const crdFiles = readdirSync(crdDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(crdDir, f));
  if (crdFiles.length === 0) throw new Error(`no CRDs under ${crdDir}`);
  return { version, controller, speaker, moduleDir: info.Dir, crdFiles };
}

/**
 * For a bench: MetalLB, or undefined when `--no-metallb` was given or (outside CI) it cannot be
 * built, with the reason logged. Under CI=true a missing peer is an error, never a silent skip.
 */
export function metallbPeer(args: string[], log: (m: string) => void): MetalLB | undefined {
  if (args.includes('--no-metallb')) return undefined;
  try {
    return ensureMetalLB(log);
  } catch (err) {
    if (strictPrereqs()) throw err;
    log(`MetalLB peer skipped: ${(err as Error).message}`);
    return undefined;
  }
}
