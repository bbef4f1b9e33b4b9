// Builds the batched UDP addon: `node dns/native/build.ts` (for `npm run build:native` / the
// package's `install` script, next to speaker/native/build.ts). Same header policy as the speaker:
// use the running Node's headers when they are installed next to it, else npm's nodedir. N-API 8
// only, so a build loads in every later Node. Linux only; elsewhere there is nothing to build and
// the server uses node:dgram (--udp-io auto).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.platform !== 'linux') {
  console.log('dns: batched UDP addon is Linux-only; skipping (node:dgram will serve UDP)');
  process.exit(0);
}
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
    'dns: building the batched UDP addon failed (needs a C compiler: apt-get install build-essential)',
  );
  process.exit(r.status ?? 1);
}
